/*
 * giltimeline — the picture of which thread ran when: an SVG with one lane
 * per thread over the recording, coloured by state (holding the GIL,
 * waiting for it, native, idle), with hover details. Each lane is drawn at
 * a fixed number of columns; a column shows the state its thread spent
 * most of that time in, so a long recording stays a small file. Only the
 * GILTIMELINE_LANES longest-lived threads get a lane; the rest are counted.
 */
#ifndef GILSCOPE_GILTIMELINE_H
#define GILSCOPE_GILTIMELINE_H

#include <stdio.h>

#include "gilstats.h"
#include "strtab.h"

#define GILTIMELINE_COLUMNS 1000    /* columns of a lane */
#define GILTIMELINE_LANES 40        /* lanes: the longest-lived threads */

/* giltimeline_write — write the timeline of G (names in ST) to OUT, headed
 * TITLE. NO_GIL: a free-threaded build without the GIL (the legend says
 * so). Returns 0, -ENOMEM, or -EIO when OUT fails. */
int giltimeline_write(FILE *out, const struct gilstats *g, const struct strtab *st, const char *title, int no_gil);

#endif
