/* jsonpos.h - where in a JSON text a value stands.
 *
 * jansson reports line:column for syntax errors but not for values it
 * parsed fine, and a policy error must name file:line:column of the
 * offending key. This small scanner walks the text once (it is run only
 * on text jansson already accepted, but it must survive any input: it has
 * a fuzz target) and answers "where is /kpis/3/unit?".
 */
#ifndef SHIPROOM_JSONPOS_H
#define SHIPROOM_JSONPOS_H

#include <stddef.h>

/* Find the position of the value at `pointer` (RFC 6901; "" is the whole
 * document) or, with key_pos, of its member name. 1-based line and column
 * (columns count bytes). Returns 0, or -1 when not found or the text is
 * not valid JSON; *line and *col are then left at the closest enclosing
 * position found (at least 1:1). */
int jsonpos_find(const char *text, size_t len, const char *pointer, int key_pos, int *line,
                 int *col);

#endif
