/*
 * What the store's SQL costs at best, in C: the floor under presence-sync's CPU per observation.
 *
 * This program replays the store's statements, and nothing else, through the C API of the system libsqlite3, with
 * prepared statements only, on the store's schema (migrations 1-7: presence_history with its per-user index,
 * presence_current WITHOUT ROWID, outbox) and pragmas (WAL, synchronous FULL, 2 MiB page cache, one PASSIVE
 * checkpoint per cycle). 100,000 users are recorded once; then each cycle changes a random 10% of them. Per
 * change, as the issue requires and the store does: read the user's current row, close its open history row
 * (valid_to), append a history row, replace the current row, append an outbox row.
 *
 * Two orders of the same statements:
 *   daemon  each change's statements one after the other, in transactions of --transaction changes (the daemon
 *           commits groups of 1 to 4 batches of 650 observations, i.e. roughly 65 to 260 changes);
 *   passes  the most favourable order there is: one transaction per cycle, changes sorted by user id, and the
 *           statements run table by table (all reads, then all closes sorted by row id, all appends, all
 *           current rows, all outbox rows), so each page of each tree is visited once per cycle.
 *
 * It prints, per steady cycle: process CPU (user + system), and the read and write system calls it made
 * (/proc/self/io): nearly all are 4 KiB page copies between SQLite and the kernel (WAL frames, page-cache
 * misses, the checkpoint). Nothing here decodes JSON, speaks HTTP or builds events: the daemon's whole budget
 * at 100,000 users is 0.3 s of CPU per cycle (3 µs per observation).
 *
 *     clang -O2 -o /tmp/storage-floor docs/storage-floor.c -lsqlite3   (or: make storage-floor)
 *     /tmp/storage-floor                       # passes, one transaction per cycle
 *     /tmp/storage-floor --order daemon --transaction 260
 *
 * Options: --order daemon|passes, --transaction N (changes per transaction), --users N, --cycles N,
 * --cache-kib N, --page-size N, --layout store|clustered (history clustered by (user_id, valid_from), so closing
 * a row and appending the next touch the same page), --path FILE, and --without close|index|outbox (repeatable)
 * to price a requirement: the close of the previous history row, the per-user history index, the outbox.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;
static int without_close, without_index, without_outbox, clustered;
static int64_t next_history_id = 1;

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

/* SplitMix64: the same sequence on every run. */
static uint64_t seed = 7;
static uint64_t next_random(void) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *availabilities[] = {"Available", "Busy", "Away", "DoNotDisturb", "BeRightBack", "Offline"};
static const char *messages[] = {NULL, NULL,
                                 "In a meeting until 3 \xe2\x80\x93 call me on \xe2\x80\x9cTeams\xe2\x80\x9d",
                                 "Working from home\nback at 2pm", "Vacation \xf0\x9f\x8c\xb4"};
static const char *locations[] = {"office", "remote", NULL};

typedef struct {
    const char *availability, *message, *location;
    char sequence[41];
} State;

typedef struct {
    char id[37];
    State state;
    int64_t history_id; /* its open history row */
    char since[25];
} User;

typedef struct {
    int user;             /* index into users */
    State next;           /* the new state */
    int64_t previous_row; /* from the read of presence_current */
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

static User *users;
static const char *now;

static void do_read(Change *change) {
    sqlite3_bind_text(read_current, 1, users[change->user].id, 36, SQLITE_STATIC);
    change->had_previous = 0;
    if (sqlite3_step(read_current) == SQLITE_ROW) {
        change->had_previous = 1;
        change->previous_row = sqlite3_column_int64(read_current, 0);
        /* Touch the columns the store decodes. */
        for (int column = 1; column < 9; column++) (void)sqlite3_column_text(read_current, column);
    }
    sqlite3_reset(read_current);
}

static void do_close(const Change *change) {
    if (!change->had_previous || without_close) return;
    sqlite3_bind_text(close_row, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(close_row, 2, change->previous_row);
    run(close_row, "close");
}

static void do_append(Change *change) {
    User *user = &users[change->user];
    sqlite3_bind_text(append_row, 1, user->id, 36, SQLITE_STATIC);
    bind_state(append_row, 2, &change->next);
    sqlite3_bind_text(append_row, 8, change->next.sequence, -1, SQLITE_STATIC);
    sqlite3_bind_text(append_row, 9, "availability,activity", -1, SQLITE_STATIC);
    sqlite3_bind_text(append_row, 10, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(append_row, 11, next_history_id);
    run(append_row, "append history");
    user->history_id = next_history_id++;
}

static void do_current(const Change *change) {
    const User *user = &users[change->user];
    sqlite3_bind_text(replace_current, 1, user->id, 36, SQLITE_STATIC);
    sqlite3_bind_int64(replace_current, 2, user->history_id);
    bind_state(replace_current, 3, &change->next);
    sqlite3_bind_text(replace_current, 9, change->next.sequence, -1, SQLITE_STATIC);
    sqlite3_bind_text(replace_current, 10, now, -1, SQLITE_STATIC);
    run(replace_current, "replace current");
}

static void do_outbox(const Change *change) {
    const User *user = &users[change->user];
    if (without_outbox) return;
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
    user->state = change->next;
    snprintf(user->since, sizeof user->since, "%s", now);
}

static int by_user(const void *a, const void *b) {
    return strcmp(users[((const Change *)a)->user].id, users[((const Change *)b)->user].id);
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

int main(int argc, char **argv) {
    const char *order = "passes", *path = "/tmp/presence-sync-storage-floor.db";
    int user_count = 100000, cycles = 6, per_transaction = 0, cache_kib = 2048, page_size = 4096;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--order")) order = argv[i + 1];
        else if (!strcmp(argv[i], "--transaction")) per_transaction = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--users")) user_count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cycles")) cycles = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cache-kib")) cache_kib = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--page-size")) page_size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--path")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--layout") && !strcmp(argv[i + 1], "clustered")) clustered = 1;
        else if (!strcmp(argv[i], "--layout") && !strcmp(argv[i + 1], "store")) clustered = 0;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "close")) without_close = 1;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "index")) without_index = 1;
        else if (!strcmp(argv[i], "--without") && !strcmp(argv[i + 1], "outbox")) without_outbox = 1;
        else { fprintf(stderr, "storage-floor: unknown option %s\n", argv[i]); return 64; }
    }
    int passes = !strcmp(order, "passes");
    if (!passes && strcmp(order, "daemon")) { fprintf(stderr, "storage-floor: --order daemon|passes\n"); return 64; }
    if (per_transaction <= 0) per_transaction = passes ? user_count : 260;

    char file[4096];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) { snprintf(file, sizeof file, "%s%s", path, suffixes[i]); unlink(file); }
    check(sqlite3_open(path, &db), path);
    char pragmas[512];
    snprintf(pragmas, sizeof pragmas, "PRAGMA page_size = %d", page_size);
    exec(pragmas);
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = 16384;"
             "PRAGMA journal_size_limit = 67108864;", cache_kib);
    exec(pragmas);
    /* The store's layout, or (--layout clustered) history clustered by user so that closing a row and appending
       the next touch the same page. */
    char history[1024];
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
    read_current = prepare("SELECT history_id, since, availability, activity, status_message, out_of_office,"
                           " out_of_office_message, work_location, last_seen FROM presence_current"
                           " WHERE user_id = ?1");
    close_row = prepare("UPDATE presence_history SET valid_to = ?1 WHERE id = ?2");
    append_row = prepare("INSERT INTO presence_history (user_id, availability, activity, status_message,"
                         " out_of_office, out_of_office_message, work_location, sequence_number, changed_fields,"
                         " valid_from, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
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

    users = calloc((size_t)user_count, sizeof *users);
    for (int i = 0; i < user_count; i++) {
        uint64_t a = next_random(), b = next_random();
        snprintf(users[i].id, sizeof users[i].id, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                 (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
                 (unsigned long long)(a & 0xfff), (unsigned long long)(b >> 52),
                 (unsigned long long)(b & 0xffffffffffffULL));
    }
    Change *changes = calloc((size_t)user_count, sizeof *changes);
    int *picked = calloc((size_t)user_count, sizeof *picked);
    double *steady = calloc((size_t)cycles, sizeof *steady);
    char clock[25];
    printf("order %s, %d changes per transaction, %d users, %d-byte pages, %d KiB page cache%s%s%s%s\n", order,
           per_transaction, user_count, page_size, cache_kib, clustered ? ", history clustered by user" : "",
           without_close ? ", without close" : "", without_index ? ", without index" : "",
           without_outbox ? ", without outbox" : "");
    for (int cycle = 0; cycle <= cycles; cycle++) {
        time_t at = 1800000000 + cycle * 10;
        strftime(clock, sizeof clock, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&at));
        now = clock;
        /* Cycle 0 records everyone; later cycles a random tenth (a partial Fisher-Yates shuffle). */
        int count = cycle == 0 ? user_count : user_count / 10;
        for (int i = 0; i < user_count; i++) picked[i] = i;
        for (int i = 0; i < count; i++) {
            int j = i + (int)(next_random() % (uint64_t)(user_count - i));
            int swap = picked[i];
            picked[i] = picked[j];
            picked[j] = swap;
            changes[i].user = picked[i];
            random_state(&changes[i].next);
        }
        long long reads0, writes0, reads1, writes1;
        syscalls(&reads0, &writes0);
        double before = cpu_seconds();
        if (passes) record_passes(changes, count, per_transaction);
        else record_daemon(changes, count, per_transaction);
        exec("PRAGMA wal_checkpoint(PASSIVE)");
        double spent = cpu_seconds() - before;
        syscalls(&reads1, &writes1);
        if (cycle == 0) {
            printf("initial load: %.2f s CPU\n", spent);
            continue;
        }
        steady[cycle - 1] = spent;
        printf("cycle %d: %d changes, %.3f s CPU, %lld read + %lld write system calls\n", cycle, count, spent,
               reads1 - reads0, writes1 - writes0);
    }
    qsort(steady, (size_t)cycles, sizeof *steady, compare_doubles);
    double median = steady[cycles / 2];
    printf("median %.3f s per cycle: %.1f µs per change, %.2f µs per observation at a 10%% change rate\n", median,
           median / (user_count / 10) * 1e6, median / user_count * 1e6);
    sqlite3_close(db);
    return 0;
}
