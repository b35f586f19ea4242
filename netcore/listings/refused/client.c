// refused client: it connects to a port where nobody listens. The kernel on
// the other side answers the SYN with a reset, and connect fails with
// ECONNREFUSED ("Connection refused").
//
//   cc -Wall -o refusedclient client.c && ./refusedclient 127.0.0.1 PORT
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: refusedclient HOST PORT\n");
        exit(1);
    }

    // look up host and port: this still works, it asks nothing of the server
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

    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0) {
        perror("connect"); // connect: Connection refused
    }
    freeaddrinfo(ai);

    // the failed socket still holds a file descriptor: close it anyway
    close(fd);
    return r < 0 ? 1 : 0;
}
