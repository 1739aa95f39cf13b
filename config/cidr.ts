import { isIPv6 } from "net";

/**
 * Networks in CIDR notation as the Kubernetes API server takes them in a NetworkPolicy's ipBlock.
 * Since Kubernetes 1.36 it validates them strictly by default (feature StrictIPCIDRValidation): no
 * leading zeros, no bits set past the prefix length, no IPv4-mapped IPv6 address. And on every
 * version an `except` must be a strict subset of its `cidr`, in the same address family.
 */
export interface Cidr {
    family: 4 | 6;
    /** The address as a number (32 or 128 bits). */
    address: bigint;
    prefix: number;
}

const width = (family: 4 | 6): number => (family === 4 ? 32 : 128);

function parseIPv4(text: string): bigint | string {
    const octets = text.split(".");
    if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return "not an IPv4 address";
    if (octets.some((o) => o.length > 1 && o.startsWith("0"))) return "has a leading 0 in an octet (Kubernetes refuses it: it reads as octal elsewhere)";
    return octets.reduce((n, o) => (n << 8n) | BigInt(o), 0n);
}

function parseIPv6(text: string): bigint | string {
    if (!isIPv6(text) || text.includes("%")) return "not an IPv6 address";
    let head = text;
    let tail: bigint[] = [];
    // An embedded IPv4 address in the last 32 bits (::ffff:10.0.0.1).
    const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (dotted) {
        const v4 = parseIPv4(dotted[2]);
        if (typeof v4 === "string") return v4;
        head = dotted[1].endsWith("::") ? dotted[1] : dotted[1].slice(0, -1);
        tail = [v4 >> 16n, v4 & 0xffffn];
    }
    const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
    const groups = (s: string | undefined) => (s ? s.split(":").map((g) => BigInt(`0x${g}`)) : []);
    const l = groups(left);
    const r = [...groups(right), ...tail];
    const all = right === undefined ? [...l, ...tail] : [...l, ...Array(8 - l.length - r.length).fill(0n), ...r];
    return all.reduce((n, g) => (n << 16n) | g, 0n);
}

/** A CIDR value, or why the Kubernetes API server would refuse it. */
export function parseCidr(value: string): Cidr | string {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!m) return "not in CIDR notation (address/prefix length)";
    const [, ip, prefixText] = m;
    const family = ip.includes(":") ? 6 : 4;
    if (prefixText.length > 1 && prefixText.startsWith("0")) return "has a leading 0 in its prefix length";
    const prefix = Number(prefixText);
    if (prefix > width(family)) return `has a prefix length over ${width(family)}`;
    const address = family === 4 ? parseIPv4(ip) : parseIPv6(ip);
    if (typeof address === "string") return address;
    // Kubernetes treats ::ffff:a.b.c.d as the IPv4 address, so it is neither IPv6 nor allowed.
    if (family === 6 && address >> 32n === 0xffffn) return "is an IPv4-mapped IPv6 address: write the IPv4 network instead";
    const hostBits = BigInt(width(family) - prefix);
    if (address & ((1n << hostBits) - 1n)) {
        const network = (address >> hostBits) << hostBits;
        return `has bits set past the prefix length: the network is ${formatAddress(family, network)}/${prefix}`;
    }
    return { family, address, prefix };
}

function formatAddress(family: 4 | 6, address: bigint): string {
    if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address >> s) & 0xffn)).join(".");
    const groups = Array.from({ length: 8 }, (_, i) => ((address >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    // The longest run of two or more zero groups becomes "::" (RFC 5952).
    let best = { at: -1, length: 1 };
    for (let i = 0; i < 8; ) {
        let j = i;
        while (j < 8 && groups[j] === "0") j++;
        if (j - i > best.length) best = { at: i, length: j - i };
        i = j === i ? i + 1 : j;
    }
    if (best.at < 0) return groups.join(":");
    return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.length).join(":")}`;
}

/** Whether `inner` is a strict subset of `outer`, as an ipBlock's `except` must be of its `cidr`. */
export function isStrictSubset(outer: Cidr, inner: Cidr): boolean {
    if (outer.family !== inner.family || inner.prefix <= outer.prefix) return false;
    const shift = BigInt(width(outer.family) - outer.prefix);
    return outer.address >> shift === inner.address >> shift;
}
