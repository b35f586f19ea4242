// escaper: forks a child that leaves the process group (setsid) and
// waits a minute, and ends at once itself: seqd trace must still end the
// child, which no group kill reaches.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    pid_t child = fork();
    if (child == 0) {
        setsid();
        sleep(60);
        return 0;
    }
    printf("%d\n", child);
    fflush(stdout);
    return 0;
}
