/*
 * trivial.c: the least a prefork libfcgi responder can do, as a ceiling
 * for any FastCGI backend behind the same nginx: it reads the request
 * body and answers {"ok":true} at once. N forked workers of T accept
 * threads each (default 2 x 4, fcomet's shape) on a unix socket it opens
 * itself. SIGTERM or SIGINT stops the workers.
 *
 *	trivial --socket PATH [--workers N] [--threads T]
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <err.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define TRIVIAL_MAX	64

static int	listen_fd;

static void *
trivial_serve(void *arg)
{
	static const char	answer[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n\r\n{\"ok\":true}";
	FCGX_Request		req;
	char			buf[4096];

	(void)arg;
	FCGX_InitRequest(&req, listen_fd, 0);
	while (FCGX_Accept_r(&req) == 0) {
		while (FCGX_GetStr(buf, sizeof buf, req.in) > 0)
			;
		FCGX_PutStr(answer, sizeof answer - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

static int
trivial_listen(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (strlen(path) >= sizeof sun.sun_path)
		errx(2, "--socket %s: path too long", path);
	strcpy(sun.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(path, 0666) == -1 || listen(fd, 4096) == -1)
		err(2, "%s", path);
	return fd;
}

static void
trivial_worker(int nthreads)
{
	pthread_t	t[TRIVIAL_MAX];

	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, trivial_serve, NULL) != 0)
			errx(1, "pthread_create");
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

int
main(int argc, char **argv)
{
	const char	*path = NULL;
	int		 nworkers = 2, nthreads = 4;
	pid_t		 pids[TRIVIAL_MAX];
	sigset_t	 set;
	int		 sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			nworkers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else
			path = NULL, i = argc;
	}
	if (path == NULL || nworkers < 1 || nworkers > TRIVIAL_MAX ||
	    nthreads < 1 || nthreads > TRIVIAL_MAX)
		errx(2, "usage: trivial --socket PATH [--workers N] "
		    "[--threads T]");
	listen_fd = trivial_listen(path);
	FCGX_Init();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* the workers inherit it */
	for (int i = 0; i < nworkers; i++)
		if ((pids[i] = fork()) == 0)
			trivial_worker(nthreads);
		else if (pids[i] == -1)
			err(1, "fork");
	sigwait(&set, &sig);
	for (int i = 0; i < nworkers; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	unlink(path);
	return 0;
}
