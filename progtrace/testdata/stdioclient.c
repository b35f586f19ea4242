// stdioclient: the lecture's client as it writes with stdio: fdopen on the
// socket, one fprintf per name, fflush, then shutdown(SHUT_WR). stdio's
// buffer turns the three fprintf calls into one write.
//
//   cc -Wall -o stdioclient stdioclient.c && ./stdioclient 127.0.0.1 PORT alice bob carol
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "Usage: stdioclient HOST PORT NAME [NAME...]\n");
        exit(1);
    }
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(r));
        exit(1);
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);

    FILE* f = fdopen(fd, "r+");
    for (int i = 3; i < argc; ++i) {
        fprintf(f, "%s\n", argv[i]);
    }
    fflush(f);
    shutdown(fd, SHUT_WR);

    char buf[BUFSIZ];
    while (fgets(buf, sizeof(buf), f)) {
        fputs(buf, stdout);
    }
    fclose(f);
    return 0;
}
