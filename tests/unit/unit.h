/* Shared by the unit tests: run a Check suite, exit status for make unit. */
#ifndef GILSCOPE_TEST_UNIT_H
#define GILSCOPE_TEST_UNIT_H

#include <check.h>

/* unit_run — run every test of S (which it frees); 0 if all passed, else 1. */
static inline int unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
