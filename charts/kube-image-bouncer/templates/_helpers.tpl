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
