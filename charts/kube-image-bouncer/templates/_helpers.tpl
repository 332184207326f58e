{{/* The release's name for its objects, at most 63 characters (a DNS label). */}}
{{- define "kube-image-bouncer.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kube-image-bouncer.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-image-bouncer.labels" -}}
{{ include "kube-image-bouncer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* repository:tag, or repository:tag@digest when a digest is given. */}}
{{- define "kube-image-bouncer.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- with .Values.image.digest -}}@{{ . }}{{- end -}}
{{- end -}}

{{- define "kube-image-bouncer.tlsSecretName" -}}
{{- .Values.tls.secretName | default (printf "%s-tls" (include "kube-image-bouncer.fullname" .)) -}}
{{- end -}}

{{- define "kube-image-bouncer.policyConfigMapName" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "kube-image-bouncer.fullname" .)) -}}
{{- end -}}

{{/* The caBundle as the webhook configuration takes it: base64 of PEM, whichever was given. */}}
{{- define "kube-image-bouncer.caBundle" -}}
{{- $ca := .Values.tls.caBundle | trim -}}
{{- if contains "-----BEGIN" $ca -}}{{ $ca | b64enc }}{{- else -}}{{ $ca }}{{- end -}}
{{- end -}}

{{/*
Whether a webhook may be registered: only once the apiserver can trust the bouncer. With no CA to
check it against, every call would fail, and a webhook that fails closed would refuse every pod.
*/}}
{{- define "kube-image-bouncer.trustable" -}}
{{- if or (eq .Values.tls.source "cert-manager") (ne (include "kube-image-bouncer.caBundle" .) "") -}}true{{- end -}}
{{- end -}}

{{/* clientConfig for a path on the bouncer's Service. */}}
{{- define "kube-image-bouncer.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "kube-image-bouncer.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- if ne .root.Values.tls.source "cert-manager" }}
  caBundle: {{ include "kube-image-bouncer.caBundle" .root }}
  {{- end }}
{{- end -}}

{{/*
namespaceSelector: the exemptions, which always apply (kube-system and the release's namespace by
name, anything labelled kube-image-bouncer.io/exempt=true), and the webhook's own selector on top.
*/}}
{{- define "kube-image-bouncer.namespaceSelector" -}}
{{- $exempt := concat (list .root.Release.Namespace) .root.Values.webhooks.exemptNamespaces | uniq -}}
namespaceSelector:
  {{- with .selector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml $exempt | nindent 8 }}
    - key: kube-image-bouncer.io/exempt
      operator: NotIn
      values: ['true']
    {{- with .selector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
The check of policy.document at render, as Kyverno checks a policy when it is applied: it must parse
as YAML, be an ImagePolicy of our apiVersion, and name only keys the schema knows (files/policy-keys.json,
written from the schema by `npm run schema`). The full check, with lines and values, is the
bouncer's: `kube-image-bouncer check --policy` in CI, or the server, which refuses an invalid edit.
*/}}
{{- define "kube-image-bouncer.checkPolicy" -}}
{{- if not .Values.policy.existingConfigMap -}}
{{- $document := fromYaml .Values.policy.document -}}
{{- if hasKey $document "Error" -}}
{{- fail (printf "policy.document is not YAML: %s" (get $document "Error")) -}}
{{- end -}}
{{- if or (ne (get $document "apiVersion" | toString) "kube-image-bouncer.io/v1alpha1") (ne (get $document "kind" | toString) "ImagePolicy") -}}
{{- fail (printf "policy.document must be apiVersion: kube-image-bouncer.io/v1alpha1, kind: ImagePolicy (got apiVersion: %v, kind: %v)" (get $document "apiVersion") (get $document "kind")) -}}
{{- end -}}
{{- $known := .Files.Get "files/policy-keys.json" | fromJson -}}
{{- include "kube-image-bouncer.policyKeys" (dict "known" $known "path" "" "shown" "" "value" $document) -}}
{{- end -}}
{{- end -}}

{{/* Fails on the first key of `value` that the schema does not know at `path` (a key path, `[]` for any item). */}}
{{- define "kube-image-bouncer.policyKeys" -}}
{{- $known := get .known .path -}}
{{- if and (kindIs "map" .value) $known -}}
{{- range $key, $value := .value -}}
{{- $shown := ternary $key (printf "%s.%s" $.shown $key) (eq $.shown "") -}}
{{- if not (has $key $known) -}}
{{- /* A did-you-mean for what templates can compare: a key cut short (namespace) or run on (namespacess). */ -}}
{{- $meant := "" -}}
{{- range $candidate := $known -}}
{{- if and (not $meant) (hasPrefix (lower $key) (lower $candidate)) -}}
{{- $meant = $candidate -}}
{{- end -}}
{{- end -}}
{{- range $candidate := $known -}}
{{- if and (not $meant) (hasPrefix (lower $candidate) (lower $key)) (le (sub (len $key) (len $candidate)) 2) -}}
{{- $meant = $candidate -}}
{{- end -}}
{{- end -}}
{{- fail (printf "policy.document: %s is not a known key of an ImagePolicy%s (%s takes %s); `kube-image-bouncer check --policy` checks a policy in full" $shown (ternary (printf " (did you mean %q?)" $meant) "" (ne $meant "")) (ternary "the document" $.shown (eq $.shown "")) (join ", " $known)) -}}
{{- end -}}
{{- include "kube-image-bouncer.policyKeys" (dict "known" $.known "path" (ternary $key (printf "%s.%s" $.path $key) (eq $.path "")) "shown" $shown "value" $value) -}}
{{- end -}}
{{- else if kindIs "slice" .value -}}
{{- range $index, $item := .value -}}
{{- include "kube-image-bouncer.policyKeys" (dict "known" $.known "path" (printf "%s[]" $.path) "shown" (printf "%s[%d]" $.shown $index) "value" $item) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
What in policy.document makes the bouncer ask registries (digest pinning, signature and attestation
rules), as `spec.pinDigests, rule signed-by-ci (verifySignatures)`; empty when nothing does, or
when the policy is a ConfigMap of yours that the chart cannot read.
*/}}
{{- define "kube-image-bouncer.registryUse" -}}
{{- if not .Values.policy.existingConfigMap -}}
{{- $spec := (fromYaml .Values.policy.document).spec | default dict -}}
{{- $uses := list -}}
{{- $pin := get $spec "pinDigests" -}}
{{- if or (kindIs "map" $pin) (eq (toString $pin) "true") -}}
{{- $uses = append $uses "spec.pinDigests" -}}
{{- end -}}
{{- range $index, $rule := (get $spec "rules" | default list) -}}
{{- if kindIs "map" $rule -}}
{{- range $check := list "verifySignatures" "verifyAttestations" -}}
{{- if hasKey $rule $check -}}
{{- $uses = append $uses (printf "rule %s (%s)" (get $rule "name" | default (printf "%s-%d" $check (add1 $index))) $check) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join ", " $uses -}}
{{- end -}}
{{- end -}}
