import ipaddr from "ipaddr.js"

/**
 * Which addresses a webhook may connect to (SSRF; OWASP SSRF cheat sheet, ASVS 1.3.6 / 15.3.2).
 * Only globally routable unicast passes: ipaddr.js classifies every special-purpose range (loopback,
 * RFC 1918 private, link-local incl. 169.254.169.254, CGNAT, multicast, broadcast, unspecified,
 * documentation/reserved, unique-local, NAT64, 6to4, Teredo…) and anything not plain `unicast` is
 * refused. IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) forms are refused outright,
 * and IPv6 must lie in 2000::/3, the only block allocated for global unicast.
 */
const METADATA = new Set([
  "169.254.169.254", // AWS, GCP, Azure, OpenStack… (link-local anyway)
  "169.254.170.2", // AWS ECS task metadata
  "100.100.100.200", // Alibaba Cloud (CGNAT range anyway)
  "192.0.0.192", // Oracle Cloud (reserved anyway)
  "168.63.129.16", // Azure WireServer: a public address, so listed explicitly
  "fd00:ec2::254" // AWS IMDS over IPv6 (unique-local anyway)
])

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3")
const V4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96")

/** Why `address` is refused, or undefined when a webhook may connect to it. */
export const refusal = (address: string): string | undefined => {
  const text = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  if (!ipaddr.isValid(text)) return "not an IP address"
  const ip = ipaddr.parse(text)
  const shown = ip.toString()
  if (METADATA.has(ip.toNormalizedString()) || METADATA.has(shown)) return `${shown} is a cloud metadata address`
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) return `${shown} is an IPv4-mapped IPv6 address`
    const range = v6.range()
    if (range !== "unicast") return `${shown} is a ${range} address`
    if (v6.match(V4_COMPATIBLE)) return `${shown} is an IPv4-compatible IPv6 address`
    if (!v6.match(GLOBAL_UNICAST_V6)) return `${shown} is not a global unicast address`
    return undefined
  }
  const range = ip.range()
  return range === "unicast" ? undefined : `${shown} is a ${range} address`
}
