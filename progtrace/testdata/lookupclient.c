// lookupclient: the lecture's client, asking getaddrinfo for AI_ADDRCONFIG
// (addresses of the families this machine has configured): glibc opens a
// netlink socket to find out, a socket of its own, not the program's.
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "Usage: lookupclient HOST PORT NAME\n");
        exit(1);
    }
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) {
        exit(1);
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        exit(1);
    }
    char line[256];
    int len = snprintf(line, sizeof(line), "%s\n", argv[3]);
    write(fd, line, len);
    shutdown(fd, SHUT_WR);
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    close(fd);
    return 0;
}
