/* dp_net.c - Ethernet/ARP/IPv4/UDP for biohubd (see dp_net.h). */
#include "dp_net.h"

#include <string.h>

#include "bhp.h"

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ARP request for our IP -> reply in place. */
static int arp(uint8_t *pkt, size_t len, const dp_local *me)
{
	uint8_t *a = pkt + DP_ETH_HLEN;
	if (len < DP_ETH_HLEN + 28 || bhp_get16(a) != 1 || bhp_get16(a + 2) != 0x0800 ||
	    a[4] != 6 || a[5] != 4 || bhp_get16(a + 6) != 1 || bhp_get32(a + 24) != me->ip)
		return DP_PKT_OTHER;
	uint8_t sha[6], spa[4];
	memcpy(sha, a + 8, 6);
	memcpy(spa, a + 14, 4);
	bhp_put16(a + 6, 2);
	memcpy(a + 8, me->mac, 6);
	bhp_put32(a + 14, me->ip);
	memcpy(a + 18, sha, 6);
	memcpy(a + 24, spa, 4);
	memcpy(pkt, sha, 6);
	memcpy(pkt + 6, me->mac, 6);
	return DP_PKT_ARP;
}

int dp_classify(uint8_t *pkt, size_t len, const dp_local *me, dp_peer *peer,
		uint8_t **payload, size_t *plen)
{
	if (len < DP_ETH_HLEN)
		return DP_PKT_OTHER;
	uint16_t et = bhp_get16(pkt + 12);
	if (et == 0x0806)
		return arp(pkt, len, me);
	if (et != 0x0800 || len < DP_HDRS)
		return DP_PKT_OTHER;
	const uint8_t *ip = pkt + DP_ETH_HLEN;
	size_t tot = bhp_get16(ip + 2);
	/* IPv4, no options, not a fragment, UDP, to us, length within frame. */
	if (ip[0] != 0x45 || (bhp_get16(ip + 6) & 0x3fff) || ip[9] != 17 ||
	    bhp_get32(ip + 16) != me->ip || tot < DP_IP_HLEN + DP_UDP_HLEN ||
	    tot > len - DP_ETH_HLEN || csum_fold(csum_add(0, ip, DP_IP_HLEN)) != 0)
		return DP_PKT_OTHER;
	const uint8_t *udp = ip + DP_IP_HLEN;
	size_t ulen = bhp_get16(udp + 4);
	if (bhp_get16(udp + 2) != me->port || ulen < DP_UDP_HLEN || ulen != tot - DP_IP_HLEN)
		return DP_PKT_OTHER;
	memcpy(peer->mac, pkt + 6, 6);
	peer->ip = bhp_get32(ip + 12);
	peer->port = bhp_get16(udp);
	*payload = pkt + DP_HDRS;
	*plen = ulen - DP_UDP_HLEN;
	return DP_PKT_UDP;
}

void dp_build_udp(uint8_t *o, const dp_local *me, const dp_peer *to, size_t plen,
		  uint16_t ip_id)
{
	memcpy(o, to->mac, 6);
	memcpy(o + 6, me->mac, 6);
	bhp_put16(o + 12, 0x0800);
	uint8_t *ip = o + DP_ETH_HLEN;
	ip[0] = 0x45;
	ip[1] = 0;
	bhp_put16(ip + 2, (uint16_t)(DP_IP_HLEN + DP_UDP_HLEN + plen));
	bhp_put16(ip + 4, ip_id);
	bhp_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 17;
	bhp_put16(ip + 10, 0);
	bhp_put32(ip + 12, me->ip);
	bhp_put32(ip + 16, to->ip);
	bhp_put16(ip + 10, csum_fold(csum_add(0, ip, DP_IP_HLEN)));
	uint8_t *udp = ip + DP_IP_HLEN;
	uint16_t ulen = (uint16_t)(DP_UDP_HLEN + plen);
	bhp_put16(udp, me->port);
	bhp_put16(udp + 2, to->port);
	bhp_put16(udp + 4, ulen);
	bhp_put16(udp + 6, 0);
	/* Pseudo header + UDP header + payload. */
	uint32_t s = csum_add(0, ip + 12, 8);
	s += 17u + ulen;
	s = csum_add(s, udp, ulen);
	uint16_t c = csum_fold(s);
	bhp_put16(udp + 6, c ? c : 0xffff);
}
