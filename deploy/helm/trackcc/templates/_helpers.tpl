{{/*
Names and labels, as `helm create` makes them, plus the few values every template derives.
*/}}

{{/* The chart name, overridable. */}}
{{- define "trackcc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-scoped prefix of every object name. Truncated to 40 characters (not 63) because
suffixes such as "-migrate-sharing" and "-backup-<timestamp>" are appended to it.
*/}}
{{- define "trackcc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version as used by the helm.sh/chart label. */}}
{{- define "trackcc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image tag every component runs: values, else the chart's appVersion. */}}
{{- define "trackcc.version" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
Selector labels of one component; call with (dict "root" $ "component" "auth").
Never change these on an existing release: selectors are immutable.
*/}}
{{- define "trackcc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trackcc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every label of one component's objects; call with (dict "root" $ "component" "auth"). */}}
{{- define "trackcc.labels" -}}
helm.sh/chart: {{ include "trackcc.chart" .root }}
{{ include "trackcc.selectorLabels" . }}
app.kubernetes.io/part-of: trackcc
app.kubernetes.io/version: {{ include "trackcc.version" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* Labels that select every pod of this release (the default-deny NetworkPolicy). */}}
{{- define "trackcc.releasePodLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: trackcc
{{- end }}

{{/* The image of a component; call with (dict "root" $ "component" "auth"). */}}
{{- define "trackcc.image" -}}
{{- $image := .root.Values.image }}
{{- $repo := printf "%s/%s%s" $image.registry $image.repositoryPrefix .component }}
{{- if $image.digests }}{{- with index $image.digests .component }}
{{- printf "%s@%s" $repo . }}
{{- else }}
{{- printf "%s:%s" $repo (include "trackcc.version" .root) }}
{{- end }}{{- else }}
{{- printf "%s:%s" $repo (include "trackcc.version" .root) }}
{{- end }}
{{- end }}

{{/* The Service (DNS name) of a component; call with (dict "root" $ "component" "auth"). */}}
{{- define "trackcc.serviceName" -}}
{{- printf "%s-%s" (include "trackcc.fullname" .root) .component }}
{{- end }}

{{/* The Secret holding a component's mTLS certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "trackcc.tlsSecret" -}}
{{- $svc := index .root.Values.services .component }}
{{- default (printf "%s-%s-tls" (include "trackcc.fullname" .root) .component) $svc.tls.existingSecret }}
{{- end }}

{{/* Name of the CloudNativePG cluster when the operator runs PostgreSQL. */}}
{{- define "trackcc.pgCluster" -}}
{{- printf "%s-pg" (include "trackcc.fullname" .) }}
{{- end }}

{{/* Secret of the external database DSNs (keys <svc>-url, <svc>-migrate-url, backup-url). */}}
{{- define "trackcc.databaseSecret" -}}
{{- default (printf "%s-database" (include "trackcc.fullname" .)) .Values.postgresql.external.existingSecret }}
{{- end }}

{{/*
Secret of one database role in operator mode (kubernetes.io/basic-auth: username, password).
Call with (dict "root" $ "role" "trackcc_auth").
*/}}
{{- define "trackcc.roleSecret" -}}
{{- printf "%s-pg-%s" (include "trackcc.fullname" .root) (.role | replace "_" "-") }}
{{- end }}

{{/* Mount point of the CloudNativePG CA, so DSNs can demand verify-full. */}}
{{- define "trackcc.pgCaDir" -}}
/etc/trackcc/pg-ca
{{- end }}

{{/*
The DSN of one database role in operator mode, with the password $password: TLS with
verify-full against the cluster's CA. Call with (dict "root" $ "role" "trackcc_auth"
"password" "...").
*/}}
{{- define "trackcc.pgUri" -}}
{{- $root := .root }}
{{- printf "postgresql://%s:%s@%s-rw.%s.svc:5432/%s?sslmode=verify-full&sslrootcert=%s/ca.crt" .role .password (include "trackcc.pgCluster" $root) $root.Release.Namespace $root.Values.postgresql.database (include "trackcc.pgCaDir" $root) }}
{{- end }}

{{/* Where a container finds its DSN: the one key of the Secret volume "database". */}}
{{- define "trackcc.dsnFile" -}}
/etc/trackcc/database/url
{{- end }}

{{/*
The variable that points a container at its DSN file: $envName with the suffix _FILE, which
services/common/config.py reads in place of $envName. DSNs hold passwords, so they reach pods
as mounted Secret files, never as environment variables (visible in the pod spec and to every
child process). Call with (dict "envName" "TRACKCC_AUTH_DATABASE_URL").
*/}}
{{- define "trackcc.dsnEnv" -}}
- name: {{ .envName }}_FILE
  value: {{ include "trackcc.dsnFile" . }}
{{- end }}

{{/*
The Secret volume holding one role's DSN as the file "url".
External PostgreSQL: key $key of the database Secret. Operator: key `uri` of the role's Secret.
Call with (dict "root" $ "key" "auth-url" "role" "trackcc_auth").
*/}}
{{- define "trackcc.dsnVolume" -}}
{{- $root := .root -}}
- name: database
  secret:
    {{- if $root.Values.postgresql.operator.enabled }}
    secretName: {{ include "trackcc.roleSecret" (dict "root" $root "role" .role) }}
    {{- else }}
    secretName: {{ include "trackcc.databaseSecret" $root }}
    {{- end }}
    defaultMode: 0440
    items:
      - key: {{ ternary "uri" .key $root.Values.postgresql.operator.enabled }}
        path: url
{{- end }}

{{- define "trackcc.dsnMount" -}}
- name: database
  mountPath: {{ include "trackcc.dsnFile" . | dir }}
  readOnly: true
{{- end }}

{{/* The Secret with the SMTP `username` and `password`, mounted as files in /etc/trackcc/smtp. */}}
{{- define "trackcc.smtpSecret" -}}
{{- default (printf "%s-smtp" (include "trackcc.fullname" .)) .Values.smtp.existingSecret }}
{{- end }}

{{/*
imagePullPolicy of one image reference: image.pullPolicy when set; else IfNotPresent for an
image given by digest (it cannot change, and a restart must not need the registry) and Always
for one given by tag (a tag can be moved: every node then runs what it names now).
Call with (dict "root" $ "image" "registry/name@sha256:...").
*/}}
{{- define "trackcc.pullPolicy" -}}
{{- default (ternary "IfNotPresent" "Always" (contains "@sha256:" .image)) .root.Values.image.pullPolicy }}
{{- end }}

{{/* The volume of the CloudNativePG CA (operator mode only). */}}
{{- define "trackcc.pgCaVolume" -}}
{{- if .Values.postgresql.operator.enabled -}}
- name: pg-ca
  secret:
    secretName: {{ include "trackcc.pgCluster" . }}-ca
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}

{{- define "trackcc.pgCaMount" -}}
{{- if .Values.postgresql.operator.enabled -}}
- name: pg-ca
  mountPath: {{ include "trackcc.pgCaDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod-level security context of the restricted Pod Security Standard. */}}
{{- define "trackcc.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security context of the restricted Pod Security Standard. */}}
{{- define "trackcc.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Egress to cluster DNS, which every pod of the release needs. */}}
{{- define "trackcc.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns.to | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{/* Egress to PostgreSQL: the operator's pods, else the configured peers. */}}
{{- define "trackcc.postgresEgress" -}}
- ports:
    - protocol: TCP
      port: {{ .Values.networkPolicy.postgresql.port }}
  {{- if .Values.postgresql.operator.enabled }}
  to:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "trackcc.pgCluster" . }}
  {{- else if .Values.networkPolicy.postgresql.to }}
  to:
    {{- toYaml .Values.networkPolicy.postgresql.to | nindent 4 }}
  {{- end }}
{{- end }}
