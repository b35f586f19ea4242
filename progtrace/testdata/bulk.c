// bulk: a bulk transfer for progtrace's benchmark. "bulk server PORT"
// accepts one connection and reads it to end of file; "bulk client PORT
// MIB" writes MIB mebibytes in 64 KiB writes, shuts down and waits for
// the server's close.
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: bulk server PORT | bulk client PORT MIB\n");
        exit(1);
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[2]));
    static char buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (strcmp(argv[1], "server") == 0) {
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        if (bind(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
            perror("bind");
            exit(1);
        }
        int cfd = accept(fd, NULL, NULL);
        long total = 0;
        ssize_t n;
        while ((n = read(cfd, buf, sizeof(buf))) > 0) {
            total += n;
        }
        close(cfd);
        close(fd);
        printf("%ld\n", total);
        return 0;
    }
    if (connect(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        perror("connect");
        exit(1);
    }
    long left = atol(argv[3]) << 20;
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
    return 0;
}
