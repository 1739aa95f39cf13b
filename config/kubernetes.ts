import * as pulumi from "@pulumi/pulumi";
import { text } from "./fields";
import { defineSection } from "./section";

export interface KubernetesConfig {
    /** Kubeconfig contents (a secret, it may hold credentials); undefined means the ambient kubeconfig. */
    kubeconfig?: pulumi.Output<string>;
    /** Context within the kubeconfig; undefined means its current context. */
    context?: string;
}

export const kubernetesSection = defineSection({
    keys: {
        kubeconfig: text().optional(),
        kubeContext: text().optional(),
    },
    examples: {
        kubeconfig: "\"$(cat ~/.kube/config)\" --secret",
        kubeContext: "kind-streamspace",
    },
    secretKeys: ["kubeconfig"],
    // Keys without a default are not declared in Pulumi.yaml (Pulumi requires every declared key
    // without a default on every stack); their descriptions live here.
    descriptions: {
        kubeconfig: "Kubeconfig contents for the cluster (a secret, it may hold credentials). Unset uses the ambient kubeconfig (KUBECONFIG or ~/.kube/config).",
        kubeContext: "Context within the kubeconfig; unset uses its current context.",
    },
    build(v): KubernetesConfig {
        return {
            kubeconfig: v.kubeconfig ? pulumi.secret(v.kubeconfig) : undefined,
            context: v.kubeContext || undefined,
        };
    },
});
