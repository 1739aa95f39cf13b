import { boolean } from "./fields";
import { defineSection } from "./section";

/** Exceptions a stack takes from the policy pack (policy/); the pack reads them through scripts/policy-config.ts. */
export interface PolicyConfig {
    /** LoadBalancer and NodePort Services may expose session ports and the TURN relay. */
    allowPublicSessionServices: boolean;
    /** A non-prod stack may keep GPU nodes running (gpuMinNodes above 0). */
    allowWarmGpuNodes: boolean;
}

export const policySection = defineSection({
    keys: {
        policyAllowPublicSessionServices: boolean().default(false),
        policyAllowWarmGpuNodes: boolean().default(false),
    },
    examples: {
        policyAllowPublicSessionServices: "true",
        policyAllowWarmGpuNodes: "true",
    },
    build(v): PolicyConfig {
        return {
            allowPublicSessionServices: v.policyAllowPublicSessionServices,
            allowWarmGpuNodes: v.policyAllowWarmGpuNodes,
        };
    },
});
