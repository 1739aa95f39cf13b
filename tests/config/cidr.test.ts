import { strict as assert } from "assert";
import { Cidr, isStrictSubset, parseCidr } from "../../config/cidr";

const ok = (value: string): Cidr => {
    const c = parseCidr(value);
    assert.ok(typeof c !== "string", `${value}: ${c}`);
    return c;
};

describe("parseCidr: CIDR values as the Kubernetes API server validates them (strict, the default since 1.36)", () => {
    it("takes networks in both families", () => {
        assert.deepEqual(ok("10.20.0.0/16"), { family: 4, address: 0x0a140000n, prefix: 16 });
        assert.deepEqual(ok("0.0.0.0/0"), { family: 4, address: 0n, prefix: 0 });
        assert.deepEqual(ok("::/0"), { family: 6, address: 0n, prefix: 0 });
        assert.deepEqual(ok("::1/128"), { family: 6, address: 1n, prefix: 128 });
        assert.deepEqual(ok("fd12:3456::/48"), { family: 6, address: 0xfd123456n << 96n, prefix: 48 });
        assert.deepEqual(ok("2001:db8:0:0:0:0:0:0/32"), { family: 6, address: 0x20010db8n << 96n, prefix: 32 });
    });

    it("refuses what the API server refuses, saying why", () => {
        const cases: [string, RegExp][] = [
            ["10.1.2.3", /not in CIDR notation/],
            ["proxy.internal/32", /not an IPv4 address/],
            ["10.0.0.0/33", /prefix length over 32/],
            ["fd00::/129", /prefix length over 128/],
            ["10.1.2.3/16", /bits set past the prefix length: the network is 10\.1\.0\.0\/16/],
            ["2001:db8::1/64", /bits set past the prefix length: the network is 2001:db8::\/64/],
            ["010.1.2.0/24", /leading 0 in an octet/],
            ["10.1.2.0/024", /leading 0 in its prefix length/],
            ["::ffff:0:0/96", /IPv4-mapped/],
            ["::ffff:10.0.0.0/104", /IPv4-mapped/],
            ["fe80::1%eth0/64", /not an IPv6 address/],
            ["1:2:3/64", /not an IPv6 address/],
        ];
        for (const [value, why] of cases) {
            const c = parseCidr(value);
            assert.equal(typeof c, "string", `${value} was taken`);
            assert.match(c as string, why, value);
        }
    });

    it("knows a strict subset, in the same family only", () => {
        assert.ok(isStrictSubset(ok("0.0.0.0/0"), ok("10.0.0.0/8")));
        assert.ok(isStrictSubset(ok("::/0"), ok("fc00::/7")));
        assert.ok(isStrictSubset(ok("10.0.0.0/8"), ok("10.20.0.0/16")));
        assert.ok(!isStrictSubset(ok("10.0.0.0/8"), ok("10.0.0.0/8")), "equal is not strict");
        assert.ok(!isStrictSubset(ok("10.0.0.0/8"), ok("11.0.0.0/16")));
        assert.ok(!isStrictSubset(ok("::/0"), ok("10.0.0.0/8")), "another family");
    });
});
