/*
 * drover-launch: starts drover's local tasks, one after another, each in a session of its own, waits for each with
 * wait4(2) and reports its exit status and the kernel's accounting of it: wall time, user + system CPU time and
 * peak resident set of the task and of every descendant it waited for. Long-lived: drover keeps one per busy slot
 * and feeds it task after task, which costs less than a JVM fork per task.
 *
 * Request, on stdin, NUL-terminated fields: workdir ("" = the launcher's), log file (stdout and stderr, appended),
 * time-out in ms (0: none), argc, argv... (argv[0] a path: drover resolved it), envc, NAME=VALUE... (added).
 * Replies, on stdout, one line each:
 *   P pid ticks                                   forked (its session id is its pid; ticks: its start time in clock
 *                                                 ticks since boot, from /proc, -1 if unknown); then one of:
 *   S                                             it runs
 *   F errno step text                             it could not start (step: log, workdir, exec); nothing runs
 *   T                                             its time-out has passed and it still runs: drover stops it
 *   E status wall_us user_us sys_us maxrss_kb     it has ended; status: its exit code, or 128 + the signal
 * End of stdin ends the launcher. Ctrl-C and hang-ups are drover's to handle: ignored here, reset in the task. A task
 * whose launcher dies is killed (PR_SET_PDEATHSIG): nobody would see its end, and drover ends its session.
 *
 * One-shot, for a SLURM array element (drover's sbatch scripts): drover-launch --once PROGRAM ARGS... runs one
 * program (found on the PATH as the shell would), in the caller's session and with its stdio, waits with wait4 and
 * writes "wall_ms cpu_ms maxrss_bytes" and a newline to fd 3 if it is open, then exits with the program's status
 * (128 + the signal that ended it), so that the element's exit record holds the same code as without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig) {
    (void) sig;
    alarmed = 1;
}

static char *field(char **buffer, size_t *size) {
    ssize_t n = getdelim(buffer, size, '\0', stdin);
    if (n <= 0 || (*buffer)[n - 1] != '\0') {
        exit(0); /* drover has gone (or sent half a request): nothing left to run */
    }
    return strdup(*buffer);
}

static long number(char **buffer, size_t *size) {
    char *text = field(buffer, size);
    long value = strtol(text, NULL, 10);
    free(text);
    return value;
}

static long long micros(struct timeval t) {
    return (long long) t.tv_sec * 1000000 + t.tv_usec;
}

static void handle(int sig, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler; /* no SA_RESTART: the alarm interrupts wait4 */
    sigaction(sig, &action, NULL);
}

/* In the forked child: report why it cannot become the task, then end without running anything. */
static void fail(int report, int error, const char *step) {
    char line[160];
    int n = snprintf(line, sizeof line, "%d %s %s", error, step, strerror(error));
    (void) !write(report, line, (size_t) n);
    _exit(127);
}

/* The start time of a child not yet waited for (so /proc still has it), in clock ticks since boot; -1 if unknown. */
static long long start_ticks(pid_t pid) {
    char path[32], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    stat[n] = '\0';
    char *field = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
    for (int i = 3; field && i <= 22; i++) { /* from the state, the 3rd field, to the start time, the 22nd */
        field = strchr(field + 1, ' ');
    }
    return field ? strtoll(field + 1, NULL, 10) : -1;
}

static void run_task(const char *workdir, const char *log, long timeout_ms, char **argv, char **env) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        printf("F %d pipe %s\n", errno, strerror(errno));
        return;
    }
    struct timespec started, ended;
    clock_gettime(CLOCK_MONOTONIC, &started);
    pid_t launcher = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        printf("F %d fork %s\n", errno, strerror(errno));
        close(report[0]);
        close(report[1]);
        return;
    }
    if (pid == 0) {
        close(report[0]);
        setsid(); /* first: from here on a terminal's signals no longer reach it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != launcher) {
            _exit(127); /* the launcher has died already: drover cannot follow this task */
        }
        int reset[] = {SIGINT, SIGQUIT, SIGHUP, SIGALRM, SIGPIPE};
        for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) {
            handle(reset[i], SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0666);
        if (out < 0) {
            fail(report[1], errno, "log");
        }
        if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
            fail(report[1], errno, "log");
        }
        if (in > 2) {
            close(in);
        }
        if (out > 2) {
            close(out);
        }
        if (*workdir && chdir(workdir) != 0) {
            fail(report[1], errno, "workdir");
        }
        for (char **variable = env; *variable; variable++) {
            putenv(*variable);
        }
        execv(argv[0], argv);
        if (errno == ENOEXEC) { /* a script without #!: run by the shell, as execvp and the JDK do */
            size_t argc = 0;
            while (argv[argc]) {
                argc++;
            }
            char **shell = calloc(argc + 2, sizeof *shell);
            shell[0] = "/bin/sh";
            memcpy(shell + 1, argv, (argc + 1) * sizeof *argv);
            execv(shell[0], shell);
            errno = ENOEXEC;
        }
        fail(report[1], errno, "exec");
    }
    close(report[1]);
    /* before anything else: drover can end its session if this launcher dies */
    printf("P %d %lld\n", (int) pid, start_ticks(pid));
    fflush(stdout);
    char why[160] = {0};
    ssize_t n;
    while ((n = read(report[0], why, sizeof why - 1)) < 0 && errno == EINTR) {
    }
    close(report[0]);
    int status;
    struct rusage usage;
    if (n > 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        printf("F %s\n", why);
        return;
    }
    printf("S\n");
    fflush(stdout);
    alarmed = 0;
    struct itimerval timer = {{0, 0}, {timeout_ms / 1000, (timeout_ms % 1000) * 1000}};
    if (timeout_ms > 0) {
        setitimer(ITIMER_REAL, &timer, NULL);
    }
    int told = 0;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            printf("F %d wait %s\n", errno, strerror(errno));
            return;
        }
        if (alarmed && !told) {
            printf("T\n");
            fflush(stdout);
            told = 1;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    long long wall = (long long) (ended.tv_sec - started.tv_sec) * 1000000
            + (ended.tv_nsec - started.tv_nsec) / 1000;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("E %d %lld %lld %lld %ld\n", code, wall, micros(usage.ru_utime), micros(usage.ru_stime),
            usage.ru_maxrss);
}

/* --once: see the top of this file. */
static int run_once(char **argv) {
    struct timespec started, ended;
    int figures = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
    if (figures >= 0) {
        fcntl(figures, F_SETFD, FD_CLOEXEC); /* the program does not inherit it */
    }
    clock_gettime(CLOCK_MONOTONIC, &started);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "drover-launch: fork: %s\n", strerror(errno));
        return 126;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        int error = errno;
        fprintf(stderr, "drover-launch: %s: %s\n", argv[0], strerror(error));
        _exit(error == ENOENT ? 127 : 126); /* the shell's codes for "not found" and "cannot run" */
    }
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            return 126;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &ended);
    long long wall = (long long) (ended.tv_sec - started.tv_sec) * 1000
            + (ended.tv_nsec - started.tv_nsec) / 1000000;
    long long cpu = (micros(usage.ru_utime) + micros(usage.ru_stime)) / 1000;
    if (figures >= 0) {
        dprintf(figures, "%lld %lld %lld\n", wall, cpu, (long long) usage.ru_maxrss * 1024);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--once") == 0) {
        if (argc < 3) {
            fprintf(stderr, "drover-launch --once: no program\n");
            return 127;
        }
        return run_once(argv + 2);
    }
    handle(SIGINT, SIG_IGN);
    handle(SIGQUIT, SIG_IGN);
    handle(SIGHUP, SIG_IGN);
    handle(SIGALRM, on_alarm);
    char *buffer = NULL;
    size_t size = 0;
    for (;;) {
        char *workdir = field(&buffer, &size);
        char *log = field(&buffer, &size);
        long timeout_ms = number(&buffer, &size);
        long argc = number(&buffer, &size);
        char **argv = calloc((size_t) argc + 1, sizeof *argv);
        for (long i = 0; i < argc; i++) {
            argv[i] = field(&buffer, &size);
        }
        long envc = number(&buffer, &size);
        char **env = calloc((size_t) envc + 1, sizeof *env);
        for (long i = 0; i < envc; i++) {
            env[i] = field(&buffer, &size);
        }
        if (argc < 1) {
            printf("F %d request no program\n", EINVAL);
        } else {
            run_task(workdir, log, timeout_ms, argv, env);
        }
        fflush(stdout);
        for (long i = 0; i < argc; i++) {
            free(argv[i]);
        }
        for (long i = 0; i < envc; i++) {
            free(env[i]);
        }
        free(argv);
        free(env);
        free(workdir);
        free(log);
    }
}
