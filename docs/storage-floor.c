/*
 * What the store's SQL costs at best, in C: the floor under presence-sync's CPU per observation.
 *
 * This program replays the store's statements, and nothing else, through the C API of the system libsqlite3, with
 * prepared statements only, on the store's schema and pragmas (WAL, synchronous FULL, 2 MiB page cache, one PASSIVE
 * checkpoint per cycle). 100,000 users are recorded once (or the history is pre-grown, below); then each cycle
 * changes a random 10% of them (--change-percent). Per change, as the issue requires and the store does: read the
 * user's current row, close its open history row (valid_to), append a history row, replace the current row, and in
 * the store's layout append an outbox row.
 *
 * Layouts (--layout):
 *   store      today's schema (migrations 1-7): presence_history with its per-user index (user_id, valid_from),
 *              presence_current WITHOUT ROWID, outbox; text everywhere (GUIDs, words, ISO-8601 times).
 *   clustered  the same, with history clustered by (user_id, valid_from) (WITHOUT ROWID), so closing a row and
 *              appending the next touch the same page.
 *   v2         "store v2": integers everywhere and no outbox (the history is the event log):
 *                user_keys (key INTEGER PRIMARY KEY, user_id TEXT UNIQUE), words (availability, activity and work
 *                location vocabulary), messages (deduplicated status and out-of-office texts);
 *                history (id INTEGER PRIMARY KEY, user, availability, activity, status_message, out_of_office,
 *                out_of_office_message, work_location, sequence_number, changed, valid_from, valid_to, previous):
 *                times in unix ms, an open row's valid_to the sentinel 2^47-1 (6 bytes like a real time, so the
 *                close rewrites the row in place), previous = the user's previous row id, sequence_number the
 *                16 hex digits as an INTEGER (declared without a type: outside STRICT tables `ANY` has NUMERIC
 *                affinity and would turn a text sequence such as '0012' into 12);
 *                current (user INTEGER PRIMARY KEY, history_id, the state's codes, since);
 *                views presence_history and presence_current render the integers back as text.
 *              Per change: read current by integer key, close (UPDATE history SET valid_to WHERE id), insert the
 *              history row (previous = the old history_id), upsert current.
 *              The per-user history index, chosen with:
 *                --period-shift N   (default 16) history_by_user ON history ((id >> N), user): a "period" is a
 *                                   block of 2^N row ids, a user's entries in a period are ordered by rowid;
 *                --period time-day  a stored column period = valid_from / 86400000, index (period, user);
 *                --period none      a plain index (user, valid_from).
 *
 * Two orders of the same statements:
 *   daemon  each change's statements one after the other, in transactions of --transaction changes (the daemon
 *           commits groups of 1 to 4 batches of 650 observations, i.e. roughly 65 to 260 changes);
 *   passes  the most favourable order there is: one transaction per cycle, changes sorted by user, and the
 *           statements run table by table (all reads, then all closes sorted by row id, all appends, all
 *           current rows, all outbox rows), so each page of each tree is visited once per cycle.
 *
 * Pre-growing (--history-rows N, e.g. 20000000): before the measured cycles the history is filled with N rows
 * that look like the daemon wrote them: cycle 0 records every user, later cycles a random --change-percent of them
 * (sorted by user), the cycles spread evenly over --history-days (default 30) days that end where the measured
 * cycles begin; previous pointers are right, every row is closed at the user's next row except each user's last,
 * which the current row points at. It runs in one transaction with journal_mode OFF, synchronous OFF and a large
 * page cache (--prefill-cache-mib, default 4096), the index maintained as rows arrive (so its pages are as full as
 * the daemon would leave them, not packed by a CREATE INDEX), then ANALYZE (the skip-scan on a period index needs
 * sqlite_stat1), then the store's pragmas are set and the file is fsynced. Cycle 0 is then skipped.
 *
 * It prints, per cycle: process CPU (user + system), WAL frames written (counted by a WAL hook, which also does the
 * 16,384-frame auto-checkpoint), and the read and write system calls it made (/proc/self/io): nearly all are 4 KiB
 * page copies between SQLite and the kernel (WAL frames, page-cache misses, the checkpoint); then medians over
 * the measured cycles, as µs of CPU per observation (every user is observed each cycle). After the cycles:
 * checkpoint(TRUNCATE), file bytes per history row (page_count * page_size), bytes per table and index (dbstat),
 * and two queries timed with their EXPLAIN QUERY PLAN: (a) one user's last 7 days, `SELECT * FROM
 * presence_history WHERE user_id = ? AND valid_from >= ?` (through the view in v2, where the history index is
 * reached by a skip-scan over the periods: ANY(...) in the plan), and in v2 the same rows found by walking the
 * previous pointers from the current row; (b) who is in a meeting now, `SELECT count(*) FROM presence_current
 * WHERE activity = 'InAMeeting'`. A last line, RESULT, has the figures on one line. Nothing here decodes JSON,
 * speaks HTTP or builds events: the daemon's whole budget at 100,000 users is 0.3 s of CPU per cycle (3 µs per
 * observation).
 *
 *     clang -O2 -Wall -o /tmp/storage-floor docs/storage-floor.c -lsqlite3   (or: make storage-floor)
 *     /tmp/storage-floor                       # store layout, passes, one transaction per cycle
 *     /tmp/storage-floor --order daemon --transaction 260
 *     nice -n 10 /tmp/storage-floor --layout v2 --history-rows 20000000 --cycles 8 --path /tmp/v2.db
 *     nice -n 10 /tmp/storage-floor --layout v2 --period time-day --history-rows 20000000 --cycles 8
 *
 * Options: --order daemon|passes, --transaction N (changes per transaction), --users N, --cycles N,
 * --change-percent P (default 10), --cache-kib N, --page-size N, --layout store|clustered|v2 (default store),
 * --period-shift N, --period time-day|none (v2), --history-rows N, --history-days D, --prefill-cache-mib N,
 * --queries N (users timed for query a, default 200, fewer if they pass 10 s), --path FILE (default /tmp/presence-sync-storage-floor.db,
 * deleted first), and --without close|index|outbox (repeatable) to price a requirement: the close of the previous
 * history row, the per-user history index, the outbox (store layouts only).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;
enum { LAYOUT_STORE, LAYOUT_CLUSTERED, LAYOUT_V2 };
enum { PERIOD_SHIFT, PERIOD_DAY, PERIOD_NONE };
static int layout = LAYOUT_STORE, period = PERIOD_SHIFT, period_shift = 16;
static int without_close, without_index, without_outbox;
static int64_t next_history_id = 1;

/* The measured cycles start here (2027-01-15T08:00:00Z) and are 10 s apart; a pre-grown history ends here. */
#define START_MS INT64_C(1800000000000)
#define DAY_MS INT64_C(86400000)
/* An open v2 history row's valid_to: 2^47-1, stored in 6 bytes like any time until the year 6429. */
#define OPEN_MS INT64_C(140737488355327)

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "storage-floor: %s: %s (%d)\n", what, sqlite3_errmsg(db), sqlite3_extended_errcode(db));
        exit(1);
    }
}

static void exec(const char *sql) { check(sqlite3_exec(db, sql, NULL, NULL, NULL), sql); }

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

static void run(sqlite3_stmt *statement, const char *what) {
    int rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) check(rc, what);
    sqlite3_reset(statement);
}

static int64_t query_int(const char *sql) {
    sqlite3_stmt *statement;
    check(sqlite3_prepare_v2(db, sql, -1, &statement, NULL), sql);
    int64_t value = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    return value;
}

/* SplitMix64: the same sequence on every run. */
static uint64_t seed = 7;
static uint64_t next_random(void) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double seconds_now(void) {
    struct timespec clock;
    clock_gettime(CLOCK_MONOTONIC, &clock);
    return clock.tv_sec + clock.tv_nsec / 1e9;
}

/* ISO-8601 with milliseconds, as the store writes its times. */
static void format_ms(int64_t ms, char text[25]) {
    time_t at = (time_t)(ms / 1000);
    struct tm parts;
    gmtime_r(&at, &parts);
    strftime(text, 25, "%Y-%m-%dT%H:%M:%S", &parts);
    snprintf(text + 19, 6, ".%03dZ", (int)(ms % 1000));
}

/* ---- The store's layouts: text states. ---- */

static const char *availabilities[] = {"Available", "Busy", "Away", "DoNotDisturb", "BeRightBack", "Offline"};
static const char *messages[] = {NULL, NULL,
                                 "In a meeting until 3 \xe2\x80\x93 call me on \xe2\x80\x9cTeams\xe2\x80\x9d",
                                 "Working from home\nback at 2pm", "Vacation \xf0\x9f\x8c\xb4"};
static const char *locations[] = {"office", "remote", NULL};

typedef struct {
    const char *availability, *message, *location;
    char sequence[41];
} State;

/* ---- v2: codes. ---- */

/* The availability/activity pairs Teams reports, with their frequencies (the simulator's PresenceCatalog). */
static const struct {
    const char *availability, *activity;
    int weight;
} pairs[] = {
    {"Available", "Available", 30},       {"Busy", "InACall", 8},
    {"Busy", "InAMeeting", 12},           {"Busy", "InAConferenceCall", 4},
    {"Busy", "Busy", 6},                  {"DoNotDisturb", "Presenting", 2},
    {"DoNotDisturb", "DoNotDisturb", 3},  {"DoNotDisturb", "UrgentInterruptionsOnly", 1},
    {"Away", "Away", 8},                  {"BeRightBack", "BeRightBack", 3},
    {"AvailableIdle", "Available", 5},    {"AvailableIdle", "Inactive", 2},
    {"BusyIdle", "Busy", 2},              {"Offline", "OffWork", 8},
    {"Offline", "Offline", 10},           {"Away", "OutOfOffice", 2},
    {"Offline", "OutOfOffice", 1},
};
#define PAIR_COUNT (int)(sizeof pairs / sizeof *pairs)
static const char *work_locations[] = {"office", "remote", "timeOff", "unknown"};
static const char *status_texts[] = {
    "Working from home today",
    "In workshops all day, replies may be slow",
    "Caf\xc3\xa9 break \xe2\x98\x95 back in 15",
    "\xe6\x9c\xac\xe6\x97\xa5\xe3\x81\xaf\xe5\x9c\xa8\xe5\xae\x85\xe5\x8b\xa4\xe5\x8b\x99\xe3\x81\xa7\xe3\x81\x99",
    "On holiday \xf0\x9f\x8c\xb4 until Monday",
    "Debugging \xe2\x80\x94 please don't ping",
    "Reading \"The Pragmatic Programmer\" \xe2\x80\x94 ask me about it",
    "Files are in C:\\Users\\shared\\Q4\\",
    "Line one\nLine two\r\nLine three\twith a tab",
    "<b>Important</b> & <i>urgent</i>: see <a href='x'>wiki</a>",
    "",
    "Focus time \xf0\x9f\x8e\xa7 until 14:00 (UTC+01:00)",
};
static const char *out_of_office_texts[] = {
    "I am out of the office until 2 January with no access to email.",
    "Je suis absent jusqu'au 15 ao\xc3\xbbt. Pour toute urgence, contactez \"\xc3\x89quipe Support\".",
    "Parental leave \xf0\x9f\x91\xb6 \xe2\x80\x94 back in spring.\nUrgent: call the front desk.",
};
#define STATUS_COUNT (int)(sizeof status_texts / sizeof *status_texts)
#define OUT_OF_OFFICE_COUNT (int)(sizeof out_of_office_texts / sizeof *out_of_office_texts)
static const char *vocabulary[64];
static int vocabulary_size, pair_codes[PAIR_COUNT][2], location_codes[4], total_weight, in_a_meeting_code;

static int word_code(const char *word) {
    for (int i = 0; i < vocabulary_size; i++)
        if (!strcmp(vocabulary[i], word)) return i + 1;
    vocabulary[vocabulary_size++] = word;
    return vocabulary_size;
}

/* Codes: pair into pair_codes, message 0 (NULL) or a messages code, location 0 (NULL) or a words code. */
typedef struct {
    int pair, message, out_of_office, out_of_office_message, location;
    int64_t sequence;
} State2;

/* The `changed` bit mask. */
enum { CHANGED_AVAILABILITY = 1, CHANGED_ACTIVITY = 2, CHANGED_STATUS = 4, CHANGED_OUT_OF_OFFICE = 8,
       CHANGED_OUT_OF_OFFICE_MESSAGE = 16, CHANGED_WORK_LOCATION = 32, CHANGED_SEQUENCE = 64 };

static int64_t sequence_counter = INT64_C(0x0000001000000000);

static void random_state2(State2 *state) {
    int r = (int)(next_random() % (uint64_t)total_weight), pair = 0;
    while (r >= pairs[pair].weight) r -= pairs[pair++].weight;
    state->pair = pair;
    uint64_t x = next_random();
    state->message = (x & 1) ? 0 : 1 + (int)((x >> 1) % STATUS_COUNT);
    state->out_of_office = (x >> 8) % 20 == 0;
    state->out_of_office_message = state->out_of_office ? 1 + STATUS_COUNT + (int)((x >> 16) % OUT_OF_OFFICE_COUNT) : 0;
    int location = (int)((x >> 24) % 5);
    state->location = location == 4 ? 0 : location_codes[location];
    sequence_counter += 1 + (int64_t)((x >> 32) % 64);
    state->sequence = sequence_counter;
}

static int changed_mask(const State2 *before, const State2 *after) {
    if (!before) return 127;
    int mask = 0;
    if (pair_codes[before->pair][0] != pair_codes[after->pair][0]) mask |= CHANGED_AVAILABILITY;
    if (pair_codes[before->pair][1] != pair_codes[after->pair][1]) mask |= CHANGED_ACTIVITY;
    if (before->message != after->message) mask |= CHANGED_STATUS;
    if (before->out_of_office != after->out_of_office) mask |= CHANGED_OUT_OF_OFFICE;
    if (before->out_of_office_message != after->out_of_office_message) mask |= CHANGED_OUT_OF_OFFICE_MESSAGE;
    if (before->location != after->location) mask |= CHANGED_WORK_LOCATION;
    return mask ? mask : CHANGED_SEQUENCE;
}

typedef struct {
    char id[37];
    State state;
    State2 state2;
    int64_t history_id; /* its open history row */
    char since[25];
} User;

typedef struct {
    int user;             /* index into users; in v2 its key is user + 1 */
    State next;           /* the new state (store layouts) */
    State2 next2;         /* the new state (v2) */
    int64_t previous_row; /* from the read of the current row */
    int had_previous;
} Change;

static void random_state(State *state) {
    state->availability = availabilities[next_random() % 6];
    state->message = messages[next_random() % 5];
    state->location = locations[next_random() % 3];
    snprintf(state->sequence, sizeof state->sequence, "0123456789abcdef0123456789abcdef%08llu",
             (unsigned long long)(next_random() % 100000000));
}

static sqlite3_stmt *read_current, *close_row, *append_row, *replace_current, *append_outbox;

static void bind_state(sqlite3_stmt *statement, int first, const State *state) {
    sqlite3_bind_text(statement, first, state->availability, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, first + 1, state->availability, -1, SQLITE_STATIC);
    if (state->message) sqlite3_bind_text(statement, first + 2, state->message, -1, SQLITE_STATIC);
    else sqlite3_bind_null(statement, first + 2);
    sqlite3_bind_int(statement, first + 3, 0);
    sqlite3_bind_null(statement, first + 4);
    if (state->location) sqlite3_bind_text(statement, first + 5, state->location, -1, SQLITE_STATIC);
    else sqlite3_bind_null(statement, first + 5);
}

static void bind_code(sqlite3_stmt *statement, int index, int code) {
    if (code) sqlite3_bind_int(statement, index, code);
    else sqlite3_bind_null(statement, index);
}

/* Seven parameters: availability, activity, status_message, out_of_office, out_of_office_message, work_location,
   sequence_number. */
static void bind_state2(sqlite3_stmt *statement, int first, const State2 *state) {
    sqlite3_bind_int(statement, first, pair_codes[state->pair][0]);
    sqlite3_bind_int(statement, first + 1, pair_codes[state->pair][1]);
    bind_code(statement, first + 2, state->message);
    sqlite3_bind_int(statement, first + 3, state->out_of_office);
    bind_code(statement, first + 4, state->out_of_office_message);
    bind_code(statement, first + 5, state->location);
    sqlite3_bind_int64(statement, first + 6, state->sequence);
}

static User *users;
static const char *now;
static int64_t now_ms;

/* v2's history row: user, state (7), changed, valid_from, valid_to, previous, id[, period]. */
static void append2(int user, const State2 *state, const State2 *before, int64_t valid_from, int64_t valid_to,
                    int64_t previous, int64_t id) {
    sqlite3_bind_int(append_row, 1, user + 1);
    bind_state2(append_row, 2, state);
    sqlite3_bind_int(append_row, 9, changed_mask(before, state));
    sqlite3_bind_int64(append_row, 10, valid_from);
    sqlite3_bind_int64(append_row, 11, valid_to);
    if (previous) sqlite3_bind_int64(append_row, 12, previous);
    else sqlite3_bind_null(append_row, 12);
    sqlite3_bind_int64(append_row, 13, id);
    if (period == PERIOD_DAY) sqlite3_bind_int64(append_row, 14, valid_from / DAY_MS);
    run(append_row, "append history");
}

static void current2(int user, int64_t history_id, const State2 *state, int64_t since) {
    sqlite3_bind_int(replace_current, 1, user + 1);
    sqlite3_bind_int64(replace_current, 2, history_id);
    bind_state2(replace_current, 3, state);
    sqlite3_bind_int64(replace_current, 10, since);
    run(replace_current, "replace current");
}

static void do_read(Change *change) {
    if (layout == LAYOUT_V2) sqlite3_bind_int(read_current, 1, change->user + 1);
    else sqlite3_bind_text(read_current, 1, users[change->user].id, 36, SQLITE_STATIC);
    change->had_previous = 0;
    if (sqlite3_step(read_current) == SQLITE_ROW) {
        change->had_previous = 1;
        change->previous_row = sqlite3_column_int64(read_current, 0);
        /* Touch the columns the store decodes. */
        for (int column = 1; column < 9; column++)
            if (layout == LAYOUT_V2) (void)sqlite3_column_int64(read_current, column);
            else (void)sqlite3_column_text(read_current, column);
    }
    sqlite3_reset(read_current);
}

static void do_close(const Change *change) {
    if (!change->had_previous || without_close) return;
    if (layout == LAYOUT_V2) sqlite3_bind_int64(close_row, 1, now_ms);
    else sqlite3_bind_text(close_row, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(close_row, 2, change->previous_row);
    run(close_row, "close");
}

static void do_append(Change *change) {
    User *user = &users[change->user];
    if (layout == LAYOUT_V2) {
        append2(change->user, &change->next2, change->had_previous ? &user->state2 : NULL, now_ms, OPEN_MS,
                change->had_previous ? change->previous_row : 0, next_history_id);
        user->history_id = next_history_id++;
        return;
    }
    sqlite3_bind_text(append_row, 1, user->id, 36, SQLITE_STATIC);
    bind_state(append_row, 2, &change->next);
    sqlite3_bind_text(append_row, 8, change->next.sequence, -1, SQLITE_STATIC);
    sqlite3_bind_text(append_row, 9, "availability,activity", -1, SQLITE_STATIC);
    sqlite3_bind_text(append_row, 10, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(append_row, 11, next_history_id);
    run(append_row, "append history");
    user->history_id = next_history_id++;
}

static void current_store(const User *user, const State *state, const char *since) {
    sqlite3_bind_text(replace_current, 1, user->id, 36, SQLITE_STATIC);
    sqlite3_bind_int64(replace_current, 2, user->history_id);
    bind_state(replace_current, 3, state);
    sqlite3_bind_text(replace_current, 9, state->sequence, -1, SQLITE_STATIC);
    sqlite3_bind_text(replace_current, 10, since, -1, SQLITE_STATIC);
    run(replace_current, "replace current");
}

static void do_current(const Change *change) {
    const User *user = &users[change->user];
    if (layout == LAYOUT_V2) current2(change->user, user->history_id, &change->next2, now_ms);
    else current_store(user, &change->next, now);
}

static void do_outbox(const Change *change) {
    const User *user = &users[change->user];
    if (without_outbox || layout == LAYOUT_V2) return;
    sqlite3_bind_int64(append_outbox, 1, user->history_id);
    sqlite3_bind_text(append_outbox, 2, user->id, 36, SQLITE_STATIC);
    if (change->had_previous) {
        bind_state(append_outbox, 3, &user->state);
        sqlite3_bind_text(append_outbox, 9, user->since, -1, SQLITE_STATIC);
    } else {
        for (int index = 3; index <= 9; index++) sqlite3_bind_null(append_outbox, index);
    }
    bind_state(append_outbox, 10, &change->next);
    sqlite3_bind_text(append_outbox, 16, change->next.sequence, -1, SQLITE_STATIC);
    sqlite3_bind_text(append_outbox, 17, "availability,activity", -1, SQLITE_STATIC);
    sqlite3_bind_text(append_outbox, 18, now, -1, SQLITE_STATIC);
    run(append_outbox, "append outbox");
}

static void remember(const Change *change) {
    User *user = &users[change->user];
    if (layout == LAYOUT_V2) {
        user->state2 = change->next2;
        return;
    }
    user->state = change->next;
    snprintf(user->since, sizeof user->since, "%s", now);
}

static int by_user(const void *a, const void *b) {
    int x = ((const Change *)a)->user, y = ((const Change *)b)->user;
    if (layout == LAYOUT_V2) return (x > y) - (x < y);
    return strcmp(users[x].id, users[y].id);
}

static int by_previous_row(const void *a, const void *b) {
    int64_t x = (*(Change *const *)a)->previous_row, y = (*(Change *const *)b)->previous_row;
    return (x > y) - (x < y);
}

static void record_daemon(Change *changes, int count, int per_transaction) {
    for (int first = 0; first < count; first += per_transaction) {
        int last = first + per_transaction < count ? first + per_transaction : count;
        exec("BEGIN IMMEDIATE");
        for (int i = first; i < last; i++) {
            do_read(&changes[i]);
            do_close(&changes[i]);
            do_append(&changes[i]);
            do_current(&changes[i]);
            do_outbox(&changes[i]);
            remember(&changes[i]);
        }
        exec("COMMIT");
    }
}

static void record_passes(Change *changes, int count, int per_transaction) {
    Change **closing = malloc(sizeof *closing * (size_t)per_transaction);
    for (int first = 0; first < count; first += per_transaction) {
        int n = first + per_transaction < count ? per_transaction : count - first;
        Change *group = changes + first;
        qsort(group, (size_t)n, sizeof *group, by_user);
        exec("BEGIN IMMEDIATE");
        for (int i = 0; i < n; i++) do_read(&group[i]);
        for (int i = 0; i < n; i++) closing[i] = &group[i];
        qsort(closing, (size_t)n, sizeof *closing, by_previous_row);
        for (int i = 0; i < n; i++) do_close(closing[i]);
        for (int i = 0; i < n; i++) do_append(&group[i]);
        for (int i = 0; i < n; i++) do_current(&group[i]);
        for (int i = 0; i < n; i++) do_outbox(&group[i]);
        exec("COMMIT");
        for (int i = 0; i < n; i++) remember(&group[i]);
    }
    free(closing);
}

/* ---- Pre-growing the history. ---- */

static int *user_rank; /* position of a user in the order the passes sort by */
static int by_rank(const void *a, const void *b) {
    int x = user_rank[*(const int *)a], y = user_rank[*(const int *)b];
    return (x > y) - (x < y);
}
static int by_guid(const void *a, const void *b) { return strcmp(users[*(const int *)a].id, users[*(const int *)b].id); }

static sqlite3_stmt *prefill_store_row;

static void prefill(int64_t rows, int user_count, int per_cycle, double days) {
    if (rows < user_count) {
        fprintf(stderr, "storage-floor: --history-rows must be at least --users\n");
        exit(64);
    }
    double started = seconds_now();
    int64_t cycle_count = 1 + (rows - user_count + per_cycle - 1) / per_cycle;
    int64_t step_ms = (int64_t)(days * DAY_MS) / cycle_count;
#define CYCLE_OF(r) ((r) < user_count ? 0 : 1 + ((r) - user_count) / per_cycle)
#define TIME_OF(c) (START_MS - (cycle_count - (c)) * step_ms)
    /* The schedule: which user each row belongs to, each cycle's users in the passes' order. */
    int *row_user = malloc(sizeof *row_user * (size_t)rows), *next_row = malloc(sizeof *next_row * (size_t)rows);
    int *order = malloc(sizeof *order * (size_t)user_count), *picked = malloc(sizeof *picked * (size_t)user_count);
    user_rank = malloc(sizeof *user_rank * (size_t)user_count);
    if (!row_user || !next_row || !order || !picked || !user_rank) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (int u = 0; u < user_count; u++) order[u] = picked[u] = u;
    if (layout != LAYOUT_V2) qsort(order, (size_t)user_count, sizeof *order, by_guid);
    for (int k = 0; k < user_count; k++) user_rank[order[k]] = k;
    for (int k = 0; k < user_count; k++) row_user[k] = order[k];
    for (int64_t r = user_count; r < rows; r += per_cycle) {
        int n = rows - r < per_cycle ? (int)(rows - r) : per_cycle;
        /* A partial Fisher-Yates shuffle of a permutation picks a uniform sample without resetting it. */
        for (int i = 0; i < n; i++) {
            int j = i + (int)(next_random() % (uint64_t)(user_count - i));
            int swap = picked[i];
            picked[i] = picked[j];
            picked[j] = swap;
        }
        memcpy(row_user + r, picked, sizeof *picked * (size_t)n);
        qsort(row_user + r, (size_t)n, sizeof *row_user, by_rank);
    }
    /* Each row's successor for its user (-1: the user's last, open row). */
    int *last = order;
    for (int u = 0; u < user_count; u++) last[u] = -1;
    for (int64_t r = rows - 1; r >= 0; r--) {
        next_row[r] = last[row_user[r]];
        last[row_user[r]] = (int)r;
    }
    double scheduled = seconds_now();

    exec("BEGIN");
    char valid_from[25] = "", valid_to[25];
    int64_t formatted_cycle = -1;
    for (int64_t r = 0; r < rows; r++) {
        int u = row_user[r];
        User *user = &users[u];
        int64_t id = r + 1, cycle = CYCLE_OF(r), from = TIME_OF(cycle);
        int64_t to = next_row[r] < 0 ? OPEN_MS : TIME_OF(CYCLE_OF((int64_t)next_row[r]));
        if (layout == LAYOUT_V2) {
            State2 state;
            random_state2(&state);
            append2(u, &state, user->history_id ? &user->state2 : NULL, from, to, user->history_id, id);
            user->state2 = state;
        } else {
            State state;
            random_state(&state);
            if (cycle != formatted_cycle) { format_ms(from, valid_from); formatted_cycle = cycle; }
            sqlite3_bind_text(prefill_store_row, 1, user->id, 36, SQLITE_STATIC);
            bind_state(prefill_store_row, 2, &state);
            sqlite3_bind_text(prefill_store_row, 8, state.sequence, -1, SQLITE_STATIC);
            sqlite3_bind_text(prefill_store_row, 9, "availability,activity", -1, SQLITE_STATIC);
            sqlite3_bind_text(prefill_store_row, 10, valid_from, -1, SQLITE_STATIC);
            sqlite3_bind_int64(prefill_store_row, 11, id);
            if (to == OPEN_MS) sqlite3_bind_null(prefill_store_row, 12);
            else { format_ms(to, valid_to); sqlite3_bind_text(prefill_store_row, 12, valid_to, -1, SQLITE_TRANSIENT); }
            run(prefill_store_row, "pre-grow history");
            user->state = state;
            snprintf(user->since, sizeof user->since, "%s", valid_from);
        }
        user->history_id = id;
        if (r + 1 == user_count || (r + 1) % 5000000 == 0)
            fprintf(stderr, "  pre-grow: %lld rows, %.0f s\n", (long long)(r + 1), seconds_now() - started);
    }
    /* Every user's current row points at its last history row. */
    for (int k = 0; k < user_count; k++) {
        int u = row_user[k]; /* cycle 0 is in the passes' order */
        User *user = &users[u];
        if (layout == LAYOUT_V2) {
            int64_t since = TIME_OF(CYCLE_OF((int64_t)user->history_id - 1));
            current2(u, user->history_id, &user->state2, since);
        } else {
            current_store(user, &user->state, user->since);
        }
    }
    exec("COMMIT");
    double inserted = seconds_now();
    exec("ANALYZE");
    double analyzed = seconds_now();
    next_history_id = rows + 1;
    printf("pre-grown: %lld history rows in %lld cycles %.1f min apart over %.0f days; schedule %.1f s, insert %.1f "
           "s, ANALYZE %.1f s\n",
           (long long)rows, (long long)cycle_count, step_ms / 60000.0, days, scheduled - started, inserted - scheduled,
           analyzed - inserted);
    free(row_user);
    free(next_row);
    free(order);
    free(picked);
#undef CYCLE_OF
#undef TIME_OF
}

/* ---- Measuring. ---- */

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
           usage.ru_stime.tv_usec / 1e6;
}

static void syscalls(long long *reads, long long *writes) {
    FILE *io = fopen("/proc/self/io", "r");
    char key[32];
    long long value;
    *reads = *writes = 0;
    while (io && fscanf(io, "%31s %lld", key, &value) == 2) {
        if (!strcmp(key, "syscr:")) *reads = value;
        if (!strcmp(key, "syscw:")) *writes = value;
    }
    if (io) fclose(io);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return count ? values[count / 2] : 0;
}

/* WAL frames: the hook sees the WAL's size after each commit. A complete checkpoint makes the next transaction
   start the WAL over. The hook replaces SQLite's auto-checkpoint, so it does the store's (16,384 frames) itself. */
static long long wal_frames;
static int wal_size;
static void checkpoint_passive(void) {
    int log = 0, done = 0;
    check(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done), "checkpoint");
    if (log == done) wal_size = 0;
}
static int count_frames(void *context, sqlite3 *connection, const char *name, int pages) {
    (void)context, (void)connection, (void)name;
    wal_frames += pages - wal_size;
    wal_size = pages;
    if (pages >= 16384) checkpoint_passive();
    return SQLITE_OK;
}

static void explain(const char *title, const char *sql) {
    char *text = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *statement;
    check(sqlite3_prepare_v2(db, text, -1, &statement, NULL), text);
    int ids[256], depths[256], count = 0;
    printf("%s\n  %s\n", title, sql);
    while (sqlite3_step(statement) == SQLITE_ROW) {
        int id = sqlite3_column_int(statement, 0), parent = sqlite3_column_int(statement, 1), depth = 0;
        for (int i = 0; i < count; i++)
            if (ids[i] == parent) depth = depths[i] + 1;
        if (count < 256) { ids[count] = id; depths[count++] = depth; }
        printf("    %*s%s\n", 2 * depth, "", (const char *)sqlite3_column_text(statement, 3));
    }
    sqlite3_finalize(statement);
    sqlite3_free(text);
}

/* Runs a prepared query to the end, reading every column as the CLI would; returns its wall time in ms. */
static double time_query(sqlite3_stmt *statement, int *rows) {
    double started = seconds_now();
    *rows = 0;
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
        for (int column = 0; column < sqlite3_column_count(statement); column++)
            (void)sqlite3_column_text(statement, column);
        ++*rows;
    }
    check(rc, "query");
    sqlite3_reset(statement);
    return (seconds_now() - started) * 1e3;
}

int main(int argc, char **argv) {
    const char *order = "passes", *path = "/tmp/presence-sync-storage-floor.db";
    int user_count = 100000, cycles = 6, per_transaction = 0, cache_kib = 2048, page_size = 4096, queries = 200;
    int prefill_cache_mib = 4096;
    double change_percent = 10, history_days = 30;
    long long history_rows = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--order")) order = argv[i + 1];
        else if (!strcmp(argv[i], "--transaction")) per_transaction = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--users")) user_count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cycles")) cycles = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--change-percent")) change_percent = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--cache-kib")) cache_kib = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--page-size")) page_size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--path")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--history-rows")) history_rows = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--history-days")) history_days = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--prefill-cache-mib")) prefill_cache_mib = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--queries")) queries = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layout") && !strcmp(argv[i + 1], "clustered")) layout = LAYOUT_CLUSTERED;
        else if (!strcmp(argv[i], "--layout") && !strcmp(argv[i + 1], "store")) layout = LAYOUT_STORE;
        else if (!strcmp(argv[i], "--layout") && !strcmp(argv[i + 1], "v2")) layout = LAYOUT_V2;
        else if (!strcmp(argv[i], "--period-shift")) { period = PERIOD_SHIFT; period_shift = atoi(argv[i + 1]); }
        else if (!strcmp(argv[i], "--period") && !strcmp(argv[i + 1], "time-day")) period = PERIOD_DAY;
        else if (!strcmp(argv[i], "--period") && !strcmp(argv[i + 1], "none")) period = PERIOD_NONE;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "close")) without_close = 1;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "index")) without_index = 1;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "outbox")) without_outbox = 1;
        else { fprintf(stderr, "storage-floor: unknown option %s\n", argv[i]); return 64; }
    }
    if (argc % 2 == 0) { fprintf(stderr, "storage-floor: %s needs a value\n", argv[argc - 1]); return 64; }
    int passes = !strcmp(order, "passes");
    if (!passes && strcmp(order, "daemon")) { fprintf(stderr, "storage-floor: --order daemon|passes\n"); return 64; }
    if (period_shift < 0 || period_shift > 40) { fprintf(stderr, "storage-floor: --period-shift 0-40\n"); return 64; }
    int per_cycle = (int)(user_count * change_percent / 100 + 0.5);
    if (per_cycle < 1 || per_cycle > user_count) { fprintf(stderr, "storage-floor: --change-percent\n"); return 64; }
    if (per_transaction <= 0) per_transaction = passes ? user_count : 260;
    if (layout == LAYOUT_V2) {
        for (int i = 0; i < PAIR_COUNT; i++) {
            pair_codes[i][0] = word_code(pairs[i].availability);
            pair_codes[i][1] = word_code(pairs[i].activity);
            total_weight += pairs[i].weight;
        }
        for (int i = 0; i < 4; i++) location_codes[i] = word_code(work_locations[i]);
        in_a_meeting_code = word_code("InAMeeting");
    }

    char file[4096];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) { snprintf(file, sizeof file, "%s%s", path, suffixes[i]); unlink(file); }
    check(sqlite3_open(path, &db), path);
    char pragmas[512];
    snprintf(pragmas, sizeof pragmas, "PRAGMA page_size = %d; PRAGMA auto_vacuum = INCREMENTAL;", page_size);
    exec(pragmas);
    /* The store's pragmas; a pre-growth runs without a journal first and sets them afterwards. */
    char store_pragmas[512];
    snprintf(store_pragmas, sizeof store_pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = 16384;"
             "PRAGMA journal_size_limit = 67108864;", cache_kib);
    if (history_rows > 0) {
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;"
                 "PRAGMA cache_size = -%lld;", (long long)prefill_cache_mib * 1024);
        exec(pragmas);
    } else {
        exec(store_pragmas);
    }
    char history[2048];
    if (layout == LAYOUT_V2) {
        exec("CREATE TABLE user_keys (key INTEGER PRIMARY KEY, user_id TEXT NOT NULL UNIQUE);"
             "CREATE TABLE words (code INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE);"
             "CREATE TABLE messages (code INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);");
        /* sequence_number has no declared type: see the comment at the top (ANY outside STRICT is NUMERIC). */
        snprintf(history, sizeof history,
                 "CREATE TABLE history (id INTEGER PRIMARY KEY, user INTEGER NOT NULL,"
                 " availability INTEGER NOT NULL, activity INTEGER NOT NULL, status_message INTEGER,"
                 " out_of_office INTEGER NOT NULL, out_of_office_message INTEGER, work_location INTEGER,"
                 " sequence_number, changed INTEGER NOT NULL, valid_from INTEGER NOT NULL,"
                 " valid_to INTEGER NOT NULL, previous INTEGER%s);"
                 "CREATE TABLE current (user INTEGER PRIMARY KEY, history_id INTEGER NOT NULL,"
                 " availability INTEGER NOT NULL, activity INTEGER NOT NULL, status_message INTEGER,"
                 " out_of_office INTEGER NOT NULL, out_of_office_message INTEGER, work_location INTEGER,"
                 " sequence_number, since INTEGER NOT NULL);",
                 period == PERIOD_DAY ? ", period INTEGER NOT NULL" : "");
        exec(history);
        if (!without_index) {
            if (period == PERIOD_SHIFT)
                snprintf(history, sizeof history, "CREATE INDEX history_by_user ON history ((id >> %d), user)",
                         period_shift);
            else if (period == PERIOD_DAY)
                snprintf(history, sizeof history, "CREATE INDEX history_by_user ON history (period, user)");
            else
                snprintf(history, sizeof history, "CREATE INDEX history_by_user ON history (user, valid_from)");
            exec(history);
        }
        /* The views render the codes back as the store's text. */
        exec("CREATE VIEW presence_history AS SELECT h.id AS id, k.user_id AS user_id, a.word AS availability,"
             " b.word AS activity, s.text AS status_message, h.out_of_office AS out_of_office,"
             " o.text AS out_of_office_message, w.word AS work_location,"
             " CASE WHEN typeof(h.sequence_number) = 'integer' THEN printf('%016X', h.sequence_number)"
             " ELSE h.sequence_number END AS sequence_number, h.changed AS changed,"
             " strftime('%Y-%m-%dT%H:%M:%S', h.valid_from / 1000, 'unixepoch')"
             " || printf('.%03dZ', h.valid_from % 1000) AS valid_from,"
             " CASE WHEN h.valid_to = 140737488355327 THEN NULL"
             " ELSE strftime('%Y-%m-%dT%H:%M:%S', h.valid_to / 1000, 'unixepoch')"
             " || printf('.%03dZ', h.valid_to % 1000) END AS valid_to, h.previous AS previous"
             " FROM history h JOIN user_keys k ON k.key = h.user JOIN words a ON a.code = h.availability"
             " JOIN words b ON b.code = h.activity LEFT JOIN messages s ON s.code = h.status_message"
             " LEFT JOIN messages o ON o.code = h.out_of_office_message LEFT JOIN words w ON w.code = h.work_location;"
             "CREATE VIEW presence_current AS SELECT k.user_id AS user_id, c.history_id AS history_id,"
             " a.word AS availability, b.word AS activity, s.text AS status_message, c.out_of_office AS out_of_office,"
             " o.text AS out_of_office_message, w.word AS work_location,"
             " CASE WHEN typeof(c.sequence_number) = 'integer' THEN printf('%016X', c.sequence_number)"
             " ELSE c.sequence_number END AS sequence_number,"
             " strftime('%Y-%m-%dT%H:%M:%S', c.since / 1000, 'unixepoch') || printf('.%03dZ', c.since % 1000) AS since"
             " FROM current c JOIN user_keys k ON k.key = c.user JOIN words a ON a.code = c.availability"
             " JOIN words b ON b.code = c.activity LEFT JOIN messages s ON s.code = c.status_message"
             " LEFT JOIN messages o ON o.code = c.out_of_office_message LEFT JOIN words w ON w.code = c.work_location;");
    } else {
        /* The store's layout, or (--layout clustered) history clustered by user so that closing a row and
           appending the next touch the same page. */
        int clustered = layout == LAYOUT_CLUSTERED;
        snprintf(history, sizeof history,
                 "CREATE TABLE presence_history (id INTEGER %s, user_id TEXT NOT NULL,"
                 " availability TEXT NOT NULL, activity TEXT NOT NULL, status_message TEXT,"
                 " out_of_office INTEGER NOT NULL CHECK (out_of_office IN (0, 1)), out_of_office_message TEXT,"
                 " work_location TEXT, sequence_number TEXT, changed_fields TEXT NOT NULL, valid_from TEXT NOT NULL,"
                 " valid_to TEXT, CHECK (valid_to IS NULL OR valid_to >= valid_from)%s)%s;",
                 clustered ? "NOT NULL UNIQUE" : "PRIMARY KEY", clustered ? ", PRIMARY KEY (user_id, valid_from)" : "",
                 clustered ? " WITHOUT ROWID" : "");
        exec(history);
        exec("CREATE TABLE presence_current (user_id TEXT PRIMARY KEY,"
             " history_id INTEGER NOT NULL REFERENCES presence_history (id), availability TEXT NOT NULL,"
             " activity TEXT NOT NULL, status_message TEXT, out_of_office INTEGER NOT NULL,"
             " out_of_office_message TEXT, work_location TEXT, sequence_number TEXT, since TEXT NOT NULL,"
             " last_seen TEXT NOT NULL) WITHOUT ROWID;"
             "CREATE TABLE outbox (history_id INTEGER PRIMARY KEY, user_id TEXT NOT NULL,"
             " previous_availability TEXT, previous_activity TEXT, previous_status_message TEXT,"
             " previous_out_of_office INTEGER, previous_out_of_office_message TEXT, previous_work_location TEXT,"
             " previous_since TEXT, availability TEXT NOT NULL, activity TEXT NOT NULL, status_message TEXT,"
             " out_of_office INTEGER NOT NULL, out_of_office_message TEXT, work_location TEXT,"
             " sequence_number TEXT, changed_fields TEXT NOT NULL, since TEXT NOT NULL);");
        /* A clustered history is its own per-user index. */
        if (!without_index && !clustered)
            exec("CREATE INDEX presence_history_by_user ON presence_history (user_id, valid_from)");
    }

    users = calloc((size_t)user_count, sizeof *users);
    for (int i = 0; i < user_count; i++) {
        uint64_t a = next_random(), b = next_random();
        snprintf(users[i].id, sizeof users[i].id, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                 (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
                 (unsigned long long)(a & 0xfff), (unsigned long long)(b >> 52),
                 (unsigned long long)(b & 0xffffffffffffULL));
    }
    if (layout == LAYOUT_V2) {
        /* The vocabularies and every user's key (user + 1), written once, outside the measured cycles. */
        exec("BEGIN");
        sqlite3_stmt *insert = prepare("INSERT INTO user_keys (key, user_id) VALUES (?1, ?2)");
        for (int i = 0; i < user_count; i++) {
            sqlite3_bind_int(insert, 1, i + 1);
            sqlite3_bind_text(insert, 2, users[i].id, 36, SQLITE_STATIC);
            run(insert, "user key");
        }
        sqlite3_finalize(insert);
        insert = prepare("INSERT INTO words (code, word) VALUES (?1, ?2)");
        for (int i = 0; i < vocabulary_size; i++) {
            sqlite3_bind_int(insert, 1, i + 1);
            sqlite3_bind_text(insert, 2, vocabulary[i], -1, SQLITE_STATIC);
            run(insert, "word");
        }
        sqlite3_finalize(insert);
        insert = prepare("INSERT INTO messages (code, text) VALUES (?1, ?2)");
        for (int i = 0; i < STATUS_COUNT + OUT_OF_OFFICE_COUNT; i++) {
            sqlite3_bind_int(insert, 1, i + 1);
            sqlite3_bind_text(insert, 2, i < STATUS_COUNT ? status_texts[i] : out_of_office_texts[i - STATUS_COUNT],
                              -1, SQLITE_STATIC);
            run(insert, "message");
        }
        sqlite3_finalize(insert);
        exec("COMMIT");
        read_current = prepare("SELECT history_id, availability, activity, status_message, out_of_office,"
                               " out_of_office_message, work_location, sequence_number, since FROM current"
                               " WHERE user = ?1");
        close_row = prepare("UPDATE history SET valid_to = ?1 WHERE id = ?2");
        append_row = prepare(period == PERIOD_DAY
                                 ? "INSERT INTO history (user, availability, activity, status_message, out_of_office,"
                                   " out_of_office_message, work_location, sequence_number, changed, valid_from,"
                                   " valid_to, previous, id, period)"
                                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                                 : "INSERT INTO history (user, availability, activity, status_message, out_of_office,"
                                   " out_of_office_message, work_location, sequence_number, changed, valid_from,"
                                   " valid_to, previous, id)"
                                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
        replace_current = prepare(
            "INSERT INTO current (user, history_id, availability, activity, status_message, out_of_office,"
            " out_of_office_message, work_location, sequence_number, since)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            " ON CONFLICT (user) DO UPDATE SET history_id = excluded.history_id,"
            " availability = excluded.availability, activity = excluded.activity,"
            " status_message = excluded.status_message, out_of_office = excluded.out_of_office,"
            " out_of_office_message = excluded.out_of_office_message, work_location = excluded.work_location,"
            " sequence_number = excluded.sequence_number, since = excluded.since");
    } else {
        read_current = prepare("SELECT history_id, since, availability, activity, status_message, out_of_office,"
                               " out_of_office_message, work_location, last_seen FROM presence_current"
                               " WHERE user_id = ?1");
        close_row = prepare("UPDATE presence_history SET valid_to = ?1 WHERE id = ?2");
        append_row = prepare("INSERT INTO presence_history (user_id, availability, activity, status_message,"
                             " out_of_office, out_of_office_message, work_location, sequence_number, changed_fields,"
                             " valid_from, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
        prefill_store_row = prepare(
            "INSERT INTO presence_history (user_id, availability, activity, status_message, out_of_office,"
            " out_of_office_message, work_location, sequence_number, changed_fields, valid_from, id, valid_to)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        replace_current = prepare(
            "INSERT INTO presence_current (user_id, history_id, availability, activity, status_message, out_of_office,"
            " out_of_office_message, work_location, sequence_number, since, last_seen)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
            " ON CONFLICT (user_id) DO UPDATE SET history_id = excluded.history_id,"
            " availability = excluded.availability, activity = excluded.activity,"
            " status_message = excluded.status_message, out_of_office = excluded.out_of_office,"
            " out_of_office_message = excluded.out_of_office_message, work_location = excluded.work_location,"
            " sequence_number = excluded.sequence_number, since = excluded.since, last_seen = excluded.last_seen");
        append_outbox = prepare("INSERT INTO outbox VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                                " ?14, ?15, ?16, ?17, ?18)");
    }

    char variant[128] = "";
    if (layout == LAYOUT_V2 && !without_index) {
        if (period == PERIOD_SHIFT) snprintf(variant, sizeof variant, ", index ((id >> %d), user)", period_shift);
        else if (period == PERIOD_DAY) snprintf(variant, sizeof variant, ", index (period = day, user)");
        else snprintf(variant, sizeof variant, ", index (user, valid_from)");
    }
    printf("layout %s%s, order %s, %d changes per transaction, %d users, %g%% change per cycle, %d-byte pages, %d KiB "
           "page cache%s%s%s\n",
           layout == LAYOUT_V2 ? "v2" : layout == LAYOUT_CLUSTERED ? "clustered (history clustered by user)" : "store",
           variant, order, per_transaction, user_count, change_percent, page_size, cache_kib,
           without_close ? ", without close" : "", without_index ? ", without index" : "",
           without_outbox && layout != LAYOUT_V2 ? ", without outbox" : "");
    fflush(stdout);

    if (history_rows > 0) {
        prefill(history_rows, user_count, per_cycle, history_days);
        exec(store_pragmas);
        /* The pre-growth wrote without syncing: put its pages on disk now, not in the first cycle's fsync. */
        int descriptor = open(path, O_RDONLY);
        if (descriptor >= 0) { fsync(descriptor); close(descriptor); }
    }
    sqlite3_wal_hook(db, count_frames, NULL);

    Change *changes = calloc((size_t)user_count, sizeof *changes);
    int *picked = calloc((size_t)user_count, sizeof *picked);
    double *cpu = calloc((size_t)cycles + 1, sizeof *cpu), *frames = calloc((size_t)cycles + 1, sizeof *frames);
    double *writes = calloc((size_t)cycles + 1, sizeof *writes), *reads = calloc((size_t)cycles + 1, sizeof *reads);
    int measured = 0;
    char clock[25];
    for (int cycle = history_rows > 0 ? 1 : 0; cycle <= cycles; cycle++) {
        time_t at = 1800000000 + cycle * 10;
        strftime(clock, sizeof clock, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&at));
        now = clock;
        now_ms = START_MS + cycle * INT64_C(10000);
        /* Cycle 0 records everyone; later cycles a random tenth (a partial Fisher-Yates shuffle). */
        int count = cycle == 0 ? user_count : per_cycle;
        for (int i = 0; i < user_count; i++) picked[i] = i;
        for (int i = 0; i < count; i++) {
            int j = i + (int)(next_random() % (uint64_t)(user_count - i));
            int swap = picked[i];
            picked[i] = picked[j];
            picked[j] = swap;
            changes[i].user = picked[i];
            if (layout == LAYOUT_V2) random_state2(&changes[i].next2);
            else random_state(&changes[i].next);
        }
        long long reads0, writes0, reads1, writes1;
        syscalls(&reads0, &writes0);
        wal_frames = 0;
        double before = cpu_seconds();
        if (passes) record_passes(changes, count, per_transaction);
        else record_daemon(changes, count, per_transaction);
        checkpoint_passive();
        double spent = cpu_seconds() - before;
        syscalls(&reads1, &writes1);
        if (cycle == 0) {
            printf("initial load: %.2f s CPU\n", spent);
            continue;
        }
        cpu[measured] = spent;
        frames[measured] = (double)wal_frames;
        reads[measured] = (double)(reads1 - reads0);
        writes[measured++] = (double)(writes1 - writes0);
        printf("cycle %d: %d changes, %.3f s CPU, %lld WAL frames, %lld read + %lld write system calls\n", cycle, count,
               spent, wal_frames, reads1 - reads0, writes1 - writes0);
        fflush(stdout);
    }
    double cpu_median = median(cpu, measured), frames_median = median(frames, measured);
    double reads_median = median(reads, measured), writes_median = median(writes, measured);
    printf("median %.3f s per cycle: %.1f µs per change, %.2f µs per observation at %g%% change; %.0f WAL frames, "
           "%.0f read + %.0f write system calls per cycle\n",
           cpu_median, cpu_median / per_cycle * 1e6, cpu_median / user_count * 1e6, change_percent, frames_median,
           reads_median, writes_median);

    /* Space: after a checkpoint that empties the WAL, no VACUUM. */
    check(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), "checkpoint");
    wal_size = 0;
    int64_t history_count = next_history_id - 1;
    int64_t page_count = query_int("PRAGMA page_count"), free_pages = query_int("PRAGMA freelist_count");
    int64_t file_bytes = page_count * page_size;
    printf("file: %lld pages (%lld free), %.1f MiB, %.1f bytes per history row (%lld rows)\n", (long long)page_count,
           (long long)free_pages, file_bytes / 1048576.0, (double)file_bytes / history_count, (long long)history_count);
    const char *history_name = layout == LAYOUT_V2 ? "history" : "presence_history";
    /* The clustered history's secondary index is the one on id (for the closes and the current rows). */
    const char *index_name = layout == LAYOUT_V2         ? "history_by_user"
                             : layout == LAYOUT_CLUSTERED ? "sqlite_autoindex_presence_history_1"
                                                          : "presence_history_by_user";
    double history_bytes = 0, index_bytes = 0;
    sqlite3_stmt *stat;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, count(*), sum(pgsize), sum(payload), sum(unused) FROM dbstat GROUP BY name"
                           " ORDER BY sum(pgsize) DESC",
                           -1, &stat, NULL) == SQLITE_OK) {
        printf("  %-32s %10s %12s %10s %10s %10s\n", "b-tree (dbstat)", "pages", "bytes", "bytes/row", "payload/row",
               "fill");
        while (sqlite3_step(stat) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(stat, 0);
            double bytes = sqlite3_column_double(stat, 2), payload = sqlite3_column_double(stat, 3),
                   unused = sqlite3_column_double(stat, 4);
            if (!strcmp(name, history_name)) history_bytes = bytes;
            if (!strcmp(name, index_name)) index_bytes = bytes;
            printf("  %-32s %10lld %12.0f %10.1f %10.1f %9.0f%%\n", name, sqlite3_column_int64(stat, 1), bytes,
                   bytes / history_count, payload / history_count, 100 * (1 - unused / bytes));
        }
        sqlite3_finalize(stat);
    } else {
        printf("  (no dbstat in this SQLite)\n");
    }
    if (history_rows <= 0) exec("ANALYZE");

    /* Queries, as an operator's sqlite3 would run them, on this connection (its 2 MiB page cache). */
    char since_text[25];
    int64_t end_ms = START_MS + cycles * INT64_C(10000);
    format_ms(end_ms - 7 * DAY_MS, since_text);
    const char *query_a = "SELECT * FROM presence_history WHERE user_id = ?1 AND valid_from >= ?2";
    const char *query_chain =
        "WITH RECURSIVE chain (id) AS (SELECT c.history_id FROM current c JOIN user_keys k ON k.key = c.user"
        " WHERE k.user_id = ?1 UNION ALL SELECT (SELECT h.previous FROM history h WHERE h.id = chain.id"
        " AND h.valid_from >= ?3) FROM chain WHERE chain.id IS NOT NULL)"
        " SELECT * FROM presence_history WHERE id IN chain AND valid_from >= ?2 ORDER BY id";
    const char *query_b = "SELECT count(*) FROM presence_current WHERE activity = 'InAMeeting'";
    explain("query (a), one user's last 7 days:", query_a);
    if (layout == LAYOUT_V2) explain("query (a'), the same rows by the previous pointers:", query_chain);
    explain("query (b), who is in a meeting now:", query_b);
    sqlite3_stmt *a = prepare(query_a), *chain = layout == LAYOUT_V2 ? prepare(query_chain) : NULL,
                 *b = prepare(query_b);
    double *a_ms = calloc((size_t)queries + 1, sizeof *a_ms), *chain_ms = calloc((size_t)queries + 1, sizeof *chain_ms);
    double b_ms[21], a_rows = 0, chain_rows = 0, spent_on_a = 0;
    int a_count = 0, rows = 0, meeting = 0;
    while (a_count < queries && (a_count < 5 || spent_on_a < 10000)) {
        const char *user_id = users[next_random() % (uint64_t)user_count].id;
        sqlite3_bind_text(a, 1, user_id, 36, SQLITE_STATIC);
        sqlite3_bind_text(a, 2, since_text, -1, SQLITE_STATIC);
        a_ms[a_count] = time_query(a, &rows);
        spent_on_a += a_ms[a_count];
        a_rows += rows;
        if (chain) {
            sqlite3_bind_text(chain, 1, user_id, 36, SQLITE_STATIC);
            sqlite3_bind_text(chain, 2, since_text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(chain, 3, end_ms - 7 * DAY_MS);
            chain_ms[a_count] = time_query(chain, &rows);
            chain_rows += rows;
        }
        a_count++;
    }
    for (int i = 0; i < 21; i++) b_ms[i] = time_query(b, &rows);
    (void)sqlite3_step(b);
    meeting = sqlite3_column_int(b, 0);
    sqlite3_reset(b);
    double a_median = median(a_ms, a_count), chain_median = chain ? median(chain_ms, a_count) : 0,
           b_median = median(b_ms, 21);
    printf("query (a): median %.3f ms over %d users, %.1f rows each (since %s)\n", a_median, a_count,
           a_rows / a_count, since_text);
    if (chain) printf("query (a'): median %.3f ms, %.1f rows each\n", chain_median, chain_rows / a_count);
    printf("query (b): median %.3f ms, %d users in a meeting%s\n", b_median, meeting,
           layout == LAYOUT_V2 ? "" : " (the store replay's states have no InAMeeting activity)");
    printf("RESULT layout=%s period=%s change=%g%% users=%d history_rows=%lld cycles=%d cpu_us_per_observation=%.3f "
           "cpu_s_per_cycle=%.3f wal_frames=%.0f write_syscalls=%.0f read_syscalls=%.0f file_bytes_per_row=%.1f "
           "history_bytes_per_row=%.1f index_bytes_per_row=%.1f file_mib=%.1f query_a_ms=%.3f query_chain_ms=%.3f "
           "query_b_ms=%.3f\n",
           layout == LAYOUT_V2 ? "v2" : layout == LAYOUT_CLUSTERED ? "clustered" : "store",
           layout != LAYOUT_V2 || without_index ? "-"
           : period == PERIOD_SHIFT             ? (snprintf(variant, sizeof variant, "shift%d", period_shift), variant)
           : period == PERIOD_DAY               ? "time-day"
                                                : "none",
           change_percent, user_count, (long long)history_count, measured, cpu_median / user_count * 1e6, cpu_median,
           frames_median, writes_median, reads_median, (double)file_bytes / history_count,
           history_bytes / history_count, index_bytes / history_count, file_bytes / 1048576.0, a_median, chain_median,
           b_median);
    sqlite3_finalize(a);
    if (chain) sqlite3_finalize(chain);
    sqlite3_finalize(b);
    sqlite3_close(db);
    return 0;
}
