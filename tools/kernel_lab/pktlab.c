/*
 * pktlab: the kernel lab's in-guest injector and per-slave tap.
 *
 *   pktlab -i IN.pcap -o OUTDIR -d DEV -t SLAVE[,SLAVE...] [-V] [-x N:COMMAND]...
 *
 * Opens an AF_PACKET tap on every slave (outgoing frames only), then sends the
 * frames of IN.pcap one at a time with an AF_PACKET raw socket on DEV (the bond),
 * and after each send reads the taps to see which slave the frame left on.
 *
 * -V: every input frame carries an outer 802.1Q tag (as a capture on the bond
 *     shows frames sent through a VLAN device on it). The tag is removed and the
 *     rest is sent through the VLAN device DEV.<vid>, so the bond gets the tag out
 *     of band, as in the usual set-up. The frame expected on the slave is the
 *     tagged input frame.
 *
 * -x N:COMMAND: run COMMAND with /bin/sh before frame N (0-based) is sent, e.g.
 *     a slave's link going down and a sleep while the bond's miimon notices; frames
 *     the bond sent while it ran (none expected) are counted as other frames.
 *
 * A frame captured shorter than it was on the wire (snaplen) is padded with
 * zeros to its wire length before it is sent; the per-slave captures keep the
 * input's snaplen.
 *
 * Writes OUTDIR/<slave>.pcap (the replayed frames that left that slave, in
 * order, with the input frame's timestamp), OUTDIR/index.txt (one line per input
 * frame: the slave's position in -t order, -1 if no slave sent it, -2 if more
 * than one did) and OUTDIR/stats.txt (counts, including frames on the slaves
 * that were not replayed frames, such as LACPDUs). Exit status 0 unless it
 * could not run; the caller checks index.txt.
 *
 * skb->protocol is set to the frame's ethertype (the one after the removed tag
 * with -V), as the kernel's own stack would; the network header is at byte 14.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXS 16
#define MAXX 64
#define MAXF 65536 + 64

static void die(const char *what) { perror(what); exit(1); }

struct tap {
    char name[IFNAMSIZ];
    int fd;
    FILE *out;
    long frames, other;
};

static void pcap_header(FILE *f, int snaplen) {
    uint32_t h[6] = {0xa1b2c3d4, 0x00040002, 0, 0, (uint32_t)snaplen, 1};
    fwrite(h, 4, 6, f);
}

static void pcap_record(FILE *f, uint32_t sec, uint32_t usec, const uint8_t *b, uint32_t caplen,
                        uint32_t len) {
    uint32_t h[4] = {sec, usec, caplen, len};
    fwrite(h, 4, 4, f);
    fwrite(b, 1, caplen, f);
}

/* receive one outgoing frame from a tap (tag reinserted); returns length or -1 when empty */
static int tap_recv(struct tap *t, uint8_t *buf, size_t cap) {
    for (;;) {
        struct sockaddr_ll sll;
        union {
            struct cmsghdr c;
            char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        } cb;
        struct iovec iov = {buf + 4, cap - 4};
        struct msghdr m = {0};
        m.msg_name = &sll;
        m.msg_namelen = sizeof sll;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = &cb;
        m.msg_controllen = sizeof cb;
        ssize_t n = recvmsg(t->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
            /* the slave's link went down (-x): the error is reported once, the tap stays */
            if (errno == ENETDOWN) continue;
            die("recvmsg");
        }
        if (sll.sll_pkttype != PACKET_OUTGOING) continue;
        if ((size_t)n > cap - 4) n = cap - 4;
        memmove(buf, buf + 4, n);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            struct tpacket_auxdata *a = (struct tpacket_auxdata *)CMSG_DATA(c);
            if ((a->tp_status & TP_STATUS_VLAN_VALID) && n >= 12) {
                uint16_t tpid = (a->tp_status & TP_STATUS_VLAN_TPID_VALID) ? a->tp_vlan_tpid
                                                                          : ETH_P_8021Q;
                memmove(buf + 16, buf + 12, n - 12);
                buf[12] = tpid >> 8;
                buf[13] = tpid & 0xff;
                buf[14] = a->tp_vlan_tci >> 8;
                buf[15] = a->tp_vlan_tci & 0xff;
                n += 4;
            }
        }
        return (int)n;
    }
}

int main(int argc, char **argv) {
    const char *in = NULL, *outdir = NULL, *dev = NULL;
    char *slaves = NULL;
    int vlan = 0, opt, nx = 0;
    struct { long at; const char *cmd; } ev[MAXX];
    while ((opt = getopt(argc, argv, "i:o:d:t:Vx:")) != -1) {
        switch (opt) {
        case 'i': in = optarg; break;
        case 'o': outdir = optarg; break;
        case 'd': dev = optarg; break;
        case 't': slaves = optarg; break;
        case 'V': vlan = 1; break;
        case 'x': {
            char *colon = strchr(optarg, ':');
            if (!colon || nx == MAXX) goto usage;
            ev[nx].at = strtol(optarg, NULL, 10);
            ev[nx++].cmd = colon + 1;
            break;
        }
        default: goto usage;
        }
    }
    if (!in || !outdir || !dev || !slaves) {
    usage:
        fprintf(stderr, "usage: pktlab -i IN.pcap -o OUTDIR -d DEV -t SLAVE[,SLAVE...] [-V]"
                        " [-x N:COMMAND]...\n");
        return 2;
    }

    FILE *fin = fopen(in, "rb");
    if (!fin) die(in);
    uint32_t gh[6];
    if (fread(gh, 4, 6, fin) != 6) die("pcap header");
    int swap = 0, nsec = 0;
    if (gh[0] == 0xa1b2c3d4) ;
    else if (gh[0] == 0xa1b23c4d) nsec = 1;
    else if (gh[0] == 0xd4c3b2a1) swap = 1;
    else if (gh[0] == 0x4d3cb2a1) swap = nsec = 1;
    else { fprintf(stderr, "%s: not a pcap file\n", in); return 2; }
#define SW(x) (swap ? __builtin_bswap32(x) : (x))
    int snaplen = (int)SW(gh[4]);
    if (SW(gh[5]) != 1) { fprintf(stderr, "%s: link type is not Ethernet\n", in); return 2; }

    struct tap taps[MAXS];
    int ns = 0;
    char path[4096];
    for (char *s = strtok(slaves, ","); s; s = strtok(NULL, ",")) {
        if (ns == MAXS) { fprintf(stderr, "too many slaves\n"); return 2; }
        struct tap *t = &taps[ns++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", s);
        t->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        if (t->fd < 0) die("socket");
        int one = 1, big = 64 << 20;
        setsockopt(t->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);
        if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
            setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        struct sockaddr_ll a = {0};
        a.sll_family = AF_PACKET;
        a.sll_protocol = htons(ETH_P_ALL);
        a.sll_ifindex = if_nametoindex(s);
        if (!a.sll_ifindex) die(s);
        if (bind(t->fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
        snprintf(path, sizeof path, "%s/%s.pcap", outdir, s);
        t->out = fopen(path, "wb");
        if (!t->out) die(path);
        pcap_header(t->out, snaplen);
    }
    /* frames already queued on the taps (none expected) are not replayed frames */
    static uint8_t rbuf[MAXF], frame[MAXF], sendbuf[MAXF];
    for (int k = 0; k < ns; k++)
        while (tap_recv(&taps[k], rbuf, sizeof rbuf) >= 0) taps[k].other++;

    int tx = socket(AF_PACKET, SOCK_RAW, 0);
    if (tx < 0) die("socket tx");
    int base_ifindex = if_nametoindex(dev);
    if (!base_ifindex) die(dev);
    struct { int vid, ifindex; } vmap[64];
    int nv = 0;

    snprintf(path, sizeof path, "%s/index.txt", outdir);
    FILE *idx = fopen(path, "w");
    if (!idx) die(path);

    long nframes = 0, unseen = 0, multi = 0, senderr = 0;
    uint32_t rh[4];
    while (fread(rh, 4, 4, fin) == 4) {
        uint32_t sec = SW(rh[0]), frac = SW(rh[1]), caplen = SW(rh[2]), len = SW(rh[3]);
        if (nsec) frac /= 1000;
        if (caplen > MAXF - 64 || len > MAXF - 64) { fprintf(stderr, "frame too big\n"); return 2; }
        if (fread(frame, 1, caplen, fin) != caplen) { fprintf(stderr, "truncated pcap\n"); return 2; }
        uint32_t wire = len > caplen ? len : caplen;
        memset(frame + caplen, 0, wire - caplen);
        for (int e = 0; e < nx; e++) {
            if (ev[e].at != nframes) continue;
            int rc = system(ev[e].cmd);
            if (rc) { fprintf(stderr, "-x %ld:%s: status %d\n", ev[e].at, ev[e].cmd, rc); return 2; }
            for (int k = 0; k < ns; k++)
                while (tap_recv(&taps[k], rbuf, sizeof rbuf) >= 0) taps[k].other++;
        }
        nframes++;

        int ifindex = base_ifindex;
        const uint8_t *sp = frame;
        uint32_t slen = wire;
        if (vlan) {
            if (wire < 18 || frame[12] != 0x81 || frame[13] != 0x00) {
                fprintf(stderr, "frame %ld has no 802.1Q tag\n", nframes - 1);
                return 2;
            }
            int vid = ((frame[14] << 8) | frame[15]) & 0xfff, j;
            for (j = 0; j < nv && vmap[j].vid != vid; j++) ;
            if (j == nv) {
                char name[64];
                snprintf(name, sizeof name, "%s.%d", dev, vid);
                vmap[nv].vid = vid;
                vmap[nv].ifindex = if_nametoindex(name);
                if (!vmap[nv].ifindex) die(name);
                nv++;
            }
            ifindex = vmap[j].ifindex;
            memcpy(sendbuf, frame, 12);
            memcpy(sendbuf + 12, frame + 16, wire - 16);
            sp = sendbuf;
            slen = wire - 4;
        }
        struct sockaddr_ll a = {0};
        a.sll_family = AF_PACKET;
        a.sll_ifindex = ifindex;
        a.sll_protocol = slen >= 14 ? htons((sp[12] << 8) | sp[13]) : 0;
        a.sll_halen = 6;
        memcpy(a.sll_addr, sp, 6);
        if (sendto(tx, sp, slen, 0, (struct sockaddr *)&a, sizeof a) < 0) {
            fprintf(stderr, "frame %ld: sendto: %s\n", nframes - 1, strerror(errno));
            senderr++;
        }

        int found = -1, count = 0;
        for (int attempt = 0; attempt < 3 && count == 0; attempt++) {
            if (attempt) {
                struct pollfd p[MAXS];
                for (int k = 0; k < ns; k++) p[k] = (struct pollfd){taps[k].fd, POLLIN, 0};
                poll(p, ns, attempt == 1 ? 5 : 100);
            }
            for (int k = 0; k < ns; k++) {
                int n;
                while ((n = tap_recv(&taps[k], rbuf, sizeof rbuf)) >= 0) {
                    uint32_t cmp = caplen < (uint32_t)n ? caplen : (uint32_t)n;
                    if ((uint32_t)n == wire && memcmp(rbuf, frame, cmp) == 0) {
                        found = k;
                        count++;
                        taps[k].frames++;
                        pcap_record(taps[k].out, sec, frac, rbuf, cmp, n);
                    } else {
                        taps[k].other++;
                    }
                }
            }
        }
        if (count == 0) unseen++;
        if (count > 1) { multi++; found = -2; }
        fprintf(idx, "%d\n", found);
    }
    fclose(idx);
    snprintf(path, sizeof path, "%s/stats.txt", outdir);
    FILE *st = fopen(path, "w");
    if (!st) die(path);
    fprintf(st, "frames %ld\nunseen %ld\nmulti %ld\nsend_errors %ld\n", nframes, unseen, multi,
            senderr);
    for (int k = 0; k < ns; k++) {
        fprintf(st, "slave %s frames %ld other %ld\n", taps[k].name, taps[k].frames, taps[k].other);
        fclose(taps[k].out);
    }
    fclose(st);
    return 0;
}
