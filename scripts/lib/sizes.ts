/**
 * A size as registries and `podman images` show it (1000-based): GB with two decimals, MB with
 * `megabyteDecimals`, kB whole; `unknown` when there is no figure.
 */
export function sizeText(bytes: number | undefined, unknown: string, megabyteDecimals: number): string {
    if (bytes === undefined) return unknown;
    if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
    if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(megabyteDecimals)} MB`;
    return `${Math.round(bytes / 1e3)} kB`;
}
