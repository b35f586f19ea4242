// bulk: a bulk transfer for progtrace's benchmark, one program so that
// every way of running it (untraced, seqd trace, strace -f) runs the same
// processes under one tracer. "bulk PORT MIB" listens on 127.0.0.1:PORT,
// forks a child that accepts one connection and reads it to end of file,
// and itself connects, writes MIB mebibytes in 64 KiB writes, shuts down
// and waits for the child's close.
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: bulk PORT MIB\n");
        exit(1);
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[1]));
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(lfd, (struct sockaddr*) &addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
        perror("bind");
        exit(1);
    }
    pid_t child = fork();
    if (child == 0) {
        int cfd = accept(lfd, NULL, NULL);
        close(lfd);
        ssize_t n;
        while ((n = read(cfd, buf, sizeof(buf))) > 0) {
        }
        close(cfd);
        return 0;
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        perror("connect");
        exit(1);
    }
    long left = atol(argv[2]) << 20;
    memset(buf, 'x', sizeof(buf));
    while (left > 0) {
        ssize_t n = write(fd, buf, left < (long) sizeof(buf) ? left : (long) sizeof(buf));
        if (n < 0) {
            perror("write");
            exit(1);
        }
        left -= n;
    }
    shutdown(fd, SHUT_WR);
    read(fd, buf, 1);
    close(fd);
    waitpid(child, NULL, 0);
    return 0;
}
