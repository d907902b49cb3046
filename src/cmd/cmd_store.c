/* cmd_store.c - `shiproom store import`: move a rollout from its state
 * dir into the etcd store the policy names (store.h).
 *
 * The journal's lines go into the store as they are, each at its own seq
 * (so the state dir's file is already the service's mirror of it), with
 * the same gap and overwrite checks as any commit; the store must hold no
 * journal for the rollout yet, and no service may be running on the
 * state dir (it would go on writing the file). A line that is not a
 * valid record, a torn tail or a seq out of order stops the import before
 * anything is written: nothing is half-moved.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/cmd.h"
#include "shiproom/etcd.h"
#include "shiproom/journal.h"
#include "shiproom/policy.h"
#include "shiproom/secret.h"
#include "shiproom/store.h"

struct line {
	char *text;
	size_t len;
	long long seq;
};

/* Every line of the journal, checked; -1 with err naming file:line. */
static int read_journal(const char *path, struct line **out, size_t *nout, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, n, "%s is not a regular file", path);
		fclose(f);
		return -1;
	}
	struct line *v = NULL;
	size_t cnt = 0, cap = 0;
	char *buf = NULL;
	size_t bcap = 0;
	ssize_t got;
	long lineno = 0;
	int rc = 0;
	while ((got = getline(&buf, &bcap, f)) > 0) {
		lineno++;
		if (buf[got - 1] != '\n') {
			snprintf(
			    err, n,
			    "%s:%ld: a torn last line (no newline): start a service on the state "
			    "dir once to repair it, then import",
			    path, lineno);
			rc = -1;
			break;
		}
		size_t len = (size_t)got - 1;
		struct sr_jevent ev;
		json_t *o = NULL;
		char why[200];
		if (len + 1 > JOURNAL_LINE_MAX ||
		    journal_parse_line(buf, len, &ev, &o, why, sizeof why) != 0) {
			snprintf(err, n, "%s:%ld: not a journal record (%s): not importing", path,
			         lineno, len + 1 > JOURNAL_LINE_MAX ? "too long" : why);
			json_decref(o);
			rc = -1;
			break;
		}
		json_decref(o);
		if (ev.seq != (long long)cnt + 1) {
			snprintf(err, n, "%s:%ld: seq %lld where %zu was due: not importing", path,
			         lineno, ev.seq, cnt + 1);
			rc = -1;
			break;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 256;
			struct line *nv = realloc(v, cap * sizeof *nv);
			if (!nv) {
				snprintf(err, n, "out of memory");
				rc = -1;
				break;
			}
			v = nv;
		}
		v[cnt].text = malloc(len + 1);
		if (!v[cnt].text) {
			snprintf(err, n, "out of memory");
			rc = -1;
			break;
		}
		memcpy(v[cnt].text, buf, len);
		v[cnt].text[len] = '\0';
		v[cnt].len = len;
		v[cnt].seq = ev.seq;
		cnt++;
	}
	free(buf);
	fclose(f);
	*out = v;
	*nout = cnt;
	return rc;
}

static bool service_alive(const char *dir)
{
	char path[SR_PATH_LEN + 32];
	snprintf(path, sizeof path, "%s/service.pid", dir);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (!f)
		return false;
	bool alive = fscanf(f, "%ld", &pid) == 1 && pid > 0 && kill((pid_t)pid, 0) == 0;
	fclose(f);
	return alive;
}

int cmd_store(const struct sr_opts *o)
{
	if (!o->action || strcmp(o->action, "import") != 0)
		return cmd_usage_error("store needs a subcommand: import%s", "");
	char datadir[SR_PATH_LEN], path[SR_PATH_LEN], dir[SR_PATH_LEN], err[2048];
	session_find_datadir(datadir, sizeof datadir);
	session_policy_path(&o->s, datadir, path, sizeof path);
	struct sr_policy *p = calloc(1, sizeof *p);
	if (!p) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	int rc = SR_EXIT_RUNTIME;
	struct sr_etcd *e = NULL;
	struct sr_store *st = NULL;
	struct line *lines = NULL;
	size_t nlines = 0;
	if (session_load_policy(p, path) != 0) {
		rc = SR_EXIT_USAGE;
		goto out;
	}
	struct sr_etcd_config c;
	if (strcmp(p->store_kind, "etcd") != 0) {
		fprintf(stderr,
		        "shiproom: store import: %s keeps its journal in the state dir (store.kind "
		        "\"%s\"): name an etcd store in the policy to import into\n",
		        p->path, p->store_kind);
		rc = SR_EXIT_USAGE;
		goto out;
	}
	if (policy_etcd_config(p, &c, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: %s: store: %s\n", p->path, err);
		rc = SR_EXIT_USAGE;
		goto out;
	}
	if (journal_state_dir(dir, sizeof dir, o->s.state_dir, p->rollout, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: store import: %s\n", err);
		goto out;
	}
	if (service_alive(dir)) {
		fprintf(stderr,
		        "shiproom: store import: a service runs on %s: stop it first (`shiproom "
		        "stop`), it would go on writing the journal\n",
		        dir);
		goto out;
	}
	char jpath[SR_PATH_LEN + 32];
	snprintf(jpath, sizeof jpath, "%s/%s", dir, JOURNAL_FILE);
	if (read_journal(jpath, &lines, &nlines, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: store import: %s\n", err);
		goto out;
	}
	if (nlines == 0) {
		fprintf(stderr, "shiproom: store import: %s holds no record: nothing to import\n",
		        jpath);
		goto out;
	}
	e = etcd_open(&c, err, sizeof err);
	if (!e) {
		fprintf(stderr, "shiproom: store import: %s\n", err);
		rc = secret_load_failed() ? SR_EXIT_USAGE : SR_EXIT_RUNTIME;
		goto out;
	}
	st = store_open_etcd(e, c.prefix, "import");
	long long head = st ? store_head(st, err, sizeof err) : SR_STORE_FAILED;
	if (head != 0) {
		if (head > 0)
			fprintf(
			    stderr,
			    "shiproom: store import: the store already holds a journal for this "
			    "rollout (%lld records under %s): not importing over it\n",
			    head, c.prefix);
		else
			fprintf(stderr, "shiproom: store import: etcd: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < nlines; i++) {
		int r = store_import_line(st, lines[i].seq, lines[i].text, lines[i].len, err,
		                          sizeof err);
		if (r != SR_STORE_OK) {
			fprintf(
			    stderr,
			    "shiproom: store import: record %lld: %s (records 1..%lld are in the "
			    "store; run the import again once it answers: it goes on from there "
			    "only if nobody else wrote)\n",
			    lines[i].seq, err, lines[i].seq - 1);
			goto out;
		}
	}
	printf("imported %zu records from %s into etcd %s under %s\n", nlines, jpath,
	       etcd_endpoint(e), c.prefix);
	printf("the rollout goes on with: shiproom serve --policy %s --state-dir %s\n", p->path,
	       dir);
	rc = SR_EXIT_OK;
out:
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].text);
	free(lines);
	if (st)
		store_close(st);
	if (e)
		etcd_close(e);
	free(p);
	return rc;
}
