/* who.c - who is attached to the rollout's service (key 7), and the
 * header's badge: the login, role, since when, read-only or acting, and
 * from which SSH connection, as the service (not the client) knows them.
 * A local console (a replay) has nobody to list and says so.
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/client.h"
#include "shiproom/tui.h"

void who_badge(const struct tui *t, char *buf, size_t n)
{
	buf[0] = '\0';
	if (!t->o->client)
		return;
	const struct sr_who *w;
	int nw = client_who(t->o->client, &w), consoles = 0;
	const char *acting = NULL;
	for (int i = 0; i < nw; i++) {
		consoles += strcmp(w[i].purpose, "console") == 0;
		if (w[i].acting)
			acting = w[i].login;
	}
	if (acting)
		tui_fmt(buf, n, "%d attached, %s acting", consoles, acting);
	else
		tui_fmt(buf, n, "%d attached", consoles);
}

void who_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	int y = b.y, bottom = b.y + b.h;
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	term_put(y++, 1, b.w - 2, TR_TITLE, "Who is attached to this rollout   esc back");
	if (!t->o->client) {
		term_put(
		    y + 1, 3, b.w - 4, TR_DIM,
		    "this console is not attached to a service (a replay): nobody else is here");
		return;
	}
	struct sr_client *c = t->o->client;
	char line[256];
	tui_fmt(line, sizeof line, "you are %s (%s%s); the service is pid %ld on %s",
	        client_login(c), client_role(c), client_read_only(c) ? ", read-only" : "",
	        client_service_pid(c), client_socket(c));
	term_put(y++, 3, b.w - 4, TR_DIM, line);
	y++;
	if (y < bottom)
		term_putf(y++, 3, b.w - 4, TR_TITLE, "%-16s %-14s %-8s %-9s %-10s %s", "login",
		          "role", "what", "since", "mode", "from");
	const struct sr_who *w;
	int nw = client_who(c, &w);
	sr_ms real = clock_real_ms();
	for (int i = 0; i < nw && y < bottom; i++) {
		char since[24];
		sr_fmt_duration(since, sizeof since, real > w[i].since ? real - w[i].since : 0);
		tui_fmt(line, sizeof line, "%-16s %-14s %-8s %-9s %-10s %s", w[i].login, w[i].role,
		        w[i].purpose, since,
		        w[i].acting      ? "ACTING"
		        : w[i].read_only ? "read-only"
		                         : "can act",
		        w[i].ssh[0] ? w[i].ssh : "local");
		term_put(y++, 3, b.w - 4, w[i].acting ? TR_ST_YELLOW : TR_NORMAL, line);
	}
}
