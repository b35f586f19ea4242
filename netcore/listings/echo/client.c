// echo client: it writes a line, then reads until the whole line has come
// back, round after round. TCP may hand the reply back in pieces, so the
// client keeps reading until it has as many bytes as it sent.
//
//   cc -Wall -o echoclient client.c && ./echoclient 127.0.0.1 PORT 3
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: echoclient HOST PORT [ROUNDS]\n");
        exit(1);
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 3;

    // look up host and port
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;     // use IPv4 or IPv6
    hints.ai_socktype = SOCK_STREAM; // use TCP
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(r));
        exit(1);
    }

    // connect to server
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);

    for (int i = 1; i <= rounds; ++i) {
        char line[64], back[64];
        int len = snprintf(line, sizeof(line), "ping %d\n", i);
        if (write(fd, line, len) != len) {
            perror("write");
            exit(1);
        }

        // one read may return only part of the line: read until we have it all
        int got = 0;
        while (got < len) {
            ssize_t n = read(fd, back + got, len - got);
            if (n <= 0) {
                fprintf(stderr, "read: the server closed early\n");
                exit(1);
            }
            got += n;
        }
        fwrite(back, 1, got, stdout);
    }

    // closing tells the server we are done: its next read returns 0
    close(fd);
    return 0;
}
