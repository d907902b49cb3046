/* status.h - the headless view: `shiproom status [--json]`.
 *
 * A view: it reads the runner and never changes it. The exit status of the
 * command is the verdict (common.h: 0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE).
 */
#ifndef SHIPROOM_STATUS_H
#define SHIPROOM_STATUS_H

#include <stdio.h>

#include "shiproom/runner.h"

void status_print_text(FILE *out, const struct sr_runner *r);
/* One JSON object; keys documented in shiproom(1), STATUS JSON. store:
 * which bastion leads, as the service said it (bastion.h), or NULL or ""
 * when the rollout is not kept in etcd: then the key is left out. */
void status_print_json(FILE *out, const struct sr_runner *r, const char *store);

#endif
