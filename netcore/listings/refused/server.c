// refused "server": it binds a port but never calls listen. The port is
// taken, yet nothing accepts connections there, so the kernel answers a
// client's SYN with a reset.
//
//   cc -Wall -o refusedserver server.c && ./refusedserver PORT
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0; // 0: the kernel picks a port

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }

    // bind to 127.0.0.1:port: the port is ours, nobody else can listen there
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (bind(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        perror("bind");
        exit(1);
    }
    socklen_t addrlen = sizeof(addr);
    getsockname(fd, (struct sockaddr*) &addr, &addrlen);
    printf("bound port %d (not listening); press Enter to close\n",
           ntohs(addr.sin_port));
    fflush(stdout);

    // no listen(): without it this socket has no accept queue, so a
    // connection attempt finds nobody. Keep the port until Enter.
    getchar();

    close(fd);
    return 0;
}
