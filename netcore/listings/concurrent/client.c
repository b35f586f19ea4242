// concurrent client: the lecture's client with one name. Start several at
// once: the server serves each on its own connection.
//
//   cc -Wall -o concurrentclient client.c
//   for n in alice bob carol; do ./concurrentclient 127.0.0.1 PORT $n & done
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "Usage: concurrentclient HOST PORT NAME\n");
        exit(1);
    }

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

    // write our name, then shut down writing: the server's read returns 0
    char line[BUFSIZ];
    int len = snprintf(line, sizeof(line), "%s\n", argv[3]);
    if (write(fd, line, len) != len) {
        perror("write");
        exit(1);
    }
    shutdown(fd, SHUT_WR);

    // read the greeting until end of file
    char buf[BUFSIZ];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, n, stdout);
    }

    close(fd);
    return 0;
}
