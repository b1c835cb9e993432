/*
 * dp_net.h - the little bit of Ethernet/ARP/IPv4/UDP biohubd speaks, on
 * plain byte buffers (no DPDK types), so the fuzz target and unit tests can
 * drive it directly.
 *
 * Accepted: Ethernet II (no VLAN), ARP requests for our address, IPv4
 * without options or fragmentation addressed to us, UDP to our port.  The
 * UDP checksum is not verified on receive (the GCM tag authenticates the
 * payload, and af_packet on veth hands us frames whose checksum the kernel
 * left to offload); it is computed in software on transmit.
 */
#ifndef DP_NET_H
#define DP_NET_H

#include <stddef.h>
#include <stdint.h>

#define DP_ETH_HLEN 14u
#define DP_IP_HLEN 20u
#define DP_UDP_HLEN 8u
#define DP_HDRS (DP_ETH_HLEN + DP_IP_HLEN + DP_UDP_HLEN)

/* Where a reply goes: the requester's link and transport address. */
typedef struct dp_peer {
	uint8_t mac[6];
	uint32_t ip;   /* host order */
	uint16_t port; /* host order */
} dp_peer;

static inline uint64_t dp_peer_tag(const dp_peer *p)
{
	return (uint64_t)p->ip << 16 | p->port;
}

typedef struct dp_local {
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port;
} dp_local;

enum dp_kind {
	DP_PKT_OTHER = 0, /* not for us: counted, dropped */
	DP_PKT_ARP,       /* ARP request for our IP: reply written in place */
	DP_PKT_UDP,       /* UDP to our port: payload, plen and peer set */
};

/* Classifies a received frame.  For DP_PKT_ARP the frame is rewritten in
 * place into the ARP reply (same length).  For DP_PKT_UDP, *payload points
 * into pkt and *plen is the UDP payload length (bounded by the IP and UDP
 * lengths, which must agree with the frame). */
int dp_classify(uint8_t *pkt, size_t len, const dp_local *me, dp_peer *peer,
		uint8_t **payload, size_t *plen);

/* Writes Ethernet + IPv4 + UDP headers for a `plen`-byte payload that is
 * already at out + DP_HDRS; computes the IPv4 and UDP checksums.  `ip_id`
 * is the IPv4 identification. */
void dp_build_udp(uint8_t *out, const dp_local *me, const dp_peer *to, size_t plen,
		  uint16_t ip_id);

#endif
