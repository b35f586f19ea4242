// serviceclient: the lecture's client. It sends each name on its own line,
// says it has no more to send with shutdown(fd, SHUT_WR), and prints the
// server's results until end of file.
//
//   cc -Wall -o serviceclient client.c && ./serviceclient 127.0.0.1 PORT alice bob carol
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "Usage: serviceclient HOST PORT NAME [NAME...]\n");
        exit(1);
    }
    const char* host = argv[1];
    const char* port = argv[2];

    // look up host and port
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;     // use IPv4 or IPv6
    hints.ai_socktype = SOCK_STREAM; // use TCP
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(host, port, &hints, &ai);
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
    r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);

    // write arguments, one per line
    char line[BUFSIZ];
    for (int i = 3; i < argc; ++i) {
        int len = snprintf(line, sizeof(line), "%s\n", argv[i]);
        if (write(fd, line, len) != len) {
            perror("write");
            exit(1);
        }
    }

    // shut down writing (no more arguments): the server's read returns 0
    shutdown(fd, SHUT_WR);

    // read results until end of file
    char buf[BUFSIZ];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, n, stdout);
    }

    // done
    close(fd);
    return 0;
}
