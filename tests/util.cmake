# Tests of util/: the shared helpers that have an algorithm of their own. Included from
# tests/CMakeLists.txt.

# The merge sort of the annotator and the foreign stream (util/msort.h), against qsort.
ct_unit_test(test_msort SOURCES unit/test_msort.c LIBS ct_util)
