/* mirror.h - the rollout's live state as JSON, and back.
 *
 * The service owns the runner; every attached console keeps a *mirror*:
 * a runner with no source, no edge and no journal, whose engine, history,
 * log and action flight are filled from the service's state messages.
 * The console's views read the mirror exactly as they read a local
 * runner, so what a view draws does not depend on where the truth lives.
 *
 * mirror_encode_core() is the part every client gets the same (encoded
 * once per change, whatever the number of clients); the history points
 * and log entries are sent per client from where that client is (a slow
 * client that skipped states still gets every point and line).
 *
 * Decoding never trusts the text: every field is type-checked, every
 * enum and index range-checked, every string cut to its field and
 * sanitised. -1 with a reason on anything wrong.
 */
#ifndef SHIPROOM_MIRROR_H
#define SHIPROOM_MIRROR_H

#include <jansson.h>

#include "shiproom/runner.h"

/* The engine (cells, triggers, decision, rollout record, criteria), the
 * action flight and the runner's clock, as one object. */
json_t *mirror_encode_core(const struct sr_runner *r);
/* History points newer than `after` (ms; 0: all kept): {"step", "last",
 * "from", "cells": [[canary...], ...]} per cell, oldest first. */
json_t *mirror_encode_history(const struct sr_history *h, sr_ms after);
/* Log entries from number `from` (r->nlog counts every entry ever). */
json_t *mirror_encode_log(const struct sr_runner *r, int from);

/* Apply a core object / history / log to the mirror m (m->policy set). */
int mirror_apply_core(struct sr_runner *m, const json_t *core, char *err, size_t n);
int mirror_apply_history(struct sr_runner *m, const json_t *hist, char *err, size_t n);
int mirror_apply_log(struct sr_runner *m, const json_t *log, char *err, size_t n);

/* The service has said nothing for `silent_ms` (wire.h: SR_WIRE_SILENT_MS):
 * what the mirror holds is old. Every cell becomes STALE and the decision
 * HOLD, each saying so and since when; `last` is the verdict the service
 * last gave (kept by the caller: a mirror marked again has lost it). The
 * service's next state puts everything back. */
void mirror_mark_silent(struct sr_runner *m, sr_ms silent_ms, enum sr_verdict last);

#endif
