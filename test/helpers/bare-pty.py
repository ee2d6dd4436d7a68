# A pseudo-terminal with nobody in between (test/helpers/bare-pty.ts): prints the tty's path, then
# obeys one command per line on stdin and answers one line each:
#   send N      writes N bytes (0, 1, 2, ... mod 256) to the tty's master side; answers "sent K"
#   drain N     reads from the master side until N bytes or 3 s without any; answers "drained K"
#   quit
# Why not socat: socat is one thread, and while one direction waits for room it moves nothing the
# other way, so a tty whose write waits for room never receives meanwhile through it.
import fcntl, os, select, sys, time, tty

master, slave = os.openpty()
tty.setraw(slave)
fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
print(os.ttyname(slave), flush=True)
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == 'quit':
        break
    n = int(words[1])
    if words[0] == 'send':
        data = bytes(i & 0xFF for i in range(n))
        off, start = 0, time.time()
        while off < n and time.time() - start < 3:
            try:
                off += os.write(master, data[off:])
            except BlockingIOError:
                select.select([], [master], [], 0.01)
        print('sent', off, flush=True)
    elif words[0] == 'drain':
        got, last = 0, time.time()
        while got < n and time.time() - last < 3:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    got += len(os.read(master, 65536))
                    last = time.time()
                except BlockingIOError:
                    pass
        print('drained', got, flush=True)
os.close(slave)
