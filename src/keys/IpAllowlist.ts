import ipaddr from "ipaddr.js"

type Address = ipaddr.IPv4 | ipaddr.IPv6

/** An IPv4 or IPv6 network; IPv4-mapped IPv6 forms are turned into IPv4 so both spellings match. */
export interface Cidr {
  readonly address: Address
  readonly bits: number
}

/**
 * A single address, strictly: IPv4 only in dotted four-part decimal (ipaddr.js alone would also take
 * `127.1` or `0x7f.0.0.1`), IPv6 without a zone id; `::ffff:a.b.c.d` becomes the IPv4 address.
 */
export const parseAddress = (text: string): Address | undefined => {
  const s = text.trim()
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s)
  if (!s.includes(":") || !ipaddr.IPv6.isValid(s)) return undefined
  const v6 = ipaddr.IPv6.parse(s)
  if (v6.zoneId !== undefined) return undefined
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Undefined when not valid. */
export const parseCidr = (entry: string): Cidr | undefined => {
  const [host = "", bitsText, ...rest] = entry.trim().split("/")
  if (rest.length > 0 || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) return undefined
  const s = host.trim()
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(s)
  if (!v4 && !(s.includes(":") && ipaddr.IPv6.isValid(s))) return undefined
  const address: Address = v4 ? ipaddr.IPv4.parse(s) : ipaddr.IPv6.parse(s)
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).zoneId !== undefined) return undefined
  const max = address.kind() === "ipv4" ? 32 : 128
  const bits = bitsText === undefined ? max : Number(bitsText)
  if (bits > max) return undefined
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return network({ address: (address as ipaddr.IPv6).toIPv4Address(), bits: bits - 96 })
  }
  return network({ address, bits })
}

const network = (cidr: Cidr): Cidr => ({
  address: cidr.address.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(`${cidr.address.toString()}/${cidr.bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${cidr.address.toString()}/${cidr.bits}`),
  bits: cidr.bits
})

/** The canonical spelling stored with a key: the network address and prefix, e.g. `10.0.0.0/8`. */
export const formatCidr = (cidr: Cidr): string => `${cidr.address.toString()}/${cidr.bits}`

export const contains = (cidr: Cidr, address: Address): boolean =>
  cidr.address.kind() === address.kind() && address.match(cidr.address, cidr.bits)

export const inAny = (cidrs: ReadonlyArray<Cidr>, address: Address | undefined): boolean =>
  address !== undefined && cidrs.some((c) => contains(c, address))

/**
 * The caller's address (SECURITY.md: X-Forwarded-For is trusted only from configured proxies): the
 * socket peer, unless the peer is a trusted proxy; then X-Forwarded-For is walked from the right,
 * skipping trusted hops, and the first untrusted hop is the caller (all trusted: the leftmost).
 * A hop that is not an address makes the caller unknown (undefined), which no allowlist admits.
 */
export const clientAddress = (
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: ReadonlyArray<Cidr>
): Address | undefined => {
  const direct = peer === undefined ? undefined : parseAddress(peer)
  if (direct === undefined || forwardedFor === undefined || !inAny(trusted, direct)) return direct
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter((h) => h !== "")
  let client: Address = direct
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i] ?? "")
    if (hop === undefined) return undefined
    client = hop
    if (!inAny(trusted, hop)) return hop
  }
  return client
}
