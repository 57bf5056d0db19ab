{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "tessera.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name, at most 63 characters (DNS label). If the release name already
contains the chart name, it is used as is.
*/}}
{{- define "tessera.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "tessera.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "tessera.labels" -}}
helm.sh/chart: {{ include "tessera.chart" . }}
{{ include "tessera.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tessera
{{- end }}

{{/*
Selector labels: stable for the life of the release (a Deployment's selector is immutable).
*/}}
{{- define "tessera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tessera.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the server pods (the migration Job and the test pod carry other components).
*/}}
{{- define "tessera.serverSelectorLabels" -}}
{{ include "tessera.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
The ServiceAccount the server pods use.
*/}}
{{- define "tessera.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tessera.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the migration hook Job uses: never the chart's own, which a pre-install hook
runs before (see values.yaml, migrations.serviceAccountName). Empty = the namespace default.
*/}}
{{- define "tessera.migrationsServiceAccountName" -}}
{{- if not .Values.serviceAccount.create }}
{{- default "default" .Values.serviceAccount.name }}
{{- else }}
{{- .Values.migrations.serviceAccountName }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}; the tag defaults to the appVersion.
Call with (dict "image" .Values.image "default" .Chart.AppVersion).
*/}}
{{- define "tessera.imageRef" -}}
{{- $tag := default .default .image.tag }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "tessera.image" -}}
{{- include "tessera.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/*
"true" when the database is SQLite (the default), "" otherwise.
*/}}
{{- define "tessera.isSqlite" -}}
{{- if eq (.Values.database.type | default "sqlite") "sqlite" }}true{{ end }}
{{- end }}

{{/*
The Secret holding database-url and token-hmac-key.
*/}}
{{- define "tessera.secretName" -}}
{{- default (include "tessera.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
The database URL written to the chart's Secret.
*/}}
{{- define "tessera.databaseUrl" -}}
{{- if .Values.database.url }}
{{- .Values.database.url }}
{{- else if include "tessera.isSqlite" . }}
{{- print "sqlite:///data/tessera.db" }}
{{- else }}
{{- fail "database.type=postgres needs the database URL: set database.url (postgres://USER:PASSWORD@HOST:5432/DB?sslmode=require) or existingSecret (a Secret with keys database-url and token-hmac-key)" }}
{{- end }}
{{- end }}

{{/*
The HMAC key written to the chart's Secret: the value given, else the one the release's Secret
already holds (so upgrades never rotate it), else a new random key. `lookup` reads nothing
under `helm template` or --dry-run, so there a new key appears in every render.
*/}}
{{- define "tessera.tokenHmacKey" -}}
{{- if .Values.tokenHmacKey }}
{{- .Values.tokenHmacKey }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "tessera.fullname" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "token-hmac-key") }}
{{- index $existing.data "token-hmac-key" | b64dec }}
{{- else }}
{{- randAlphaNum 64 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The server secret (TESSERA_SECRET_KEY), from which the keys sealing TOTP seeds and session
signing keys are derived: the value given, else the one already in the release's Secret
(kept on upgrade), else a new one on first install.
*/}}
{{- define "tessera.secretKey" -}}
{{- if .Values.secretKey }}
{{- .Values.secretKey }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "tessera.fullname" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "secret-key") }}
{{- index $existing.data "secret-key" | b64dec }}
{{- else }}
{{- randAlphaNum 64 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The non-secret settings as a flat map of environment variables (YAML). The ConfigMap renders
them for the server (envFrom); the migration hook Job, which runs before the ConfigMap exists,
renders the same map inline as env. One definition keeps the two in step.
*/}}
{{- define "tessera.configEnv" -}}
TESSERA_LISTEN: {{ printf "0.0.0.0:%d" 50051 | quote }}
TESSERA_HTTP_LISTEN: {{ printf "0.0.0.0:%d" 8080 | quote }}
{{- if .Values.metrics.enabled }}
TESSERA_METRICS_LISTEN: {{ printf "0.0.0.0:%d" (.Values.metrics.port | int) | quote }}
{{- else }}
TESSERA_METRICS_LISTEN: ""
{{- end }}
TESSERA_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
RUST_LOG: {{ .Values.config.logLevel | quote }}
TESSERA_DATABASE_POOL_SIZE: {{ .Values.database.poolSize | int | toString | quote }}
{{- with .Values.database.statementTimeout }}
TESSERA_DATABASE_STATEMENT_TIMEOUT: {{ . | quote }}
{{- end }}
TESSERA_CACHE_CAPACITY: {{ .Values.config.cacheCapacity | int | toString | quote }}
TESSERA_CACHE_TTL: {{ .Values.config.cacheTtl | quote }}
TESSERA_CHANGE_POLL_INTERVAL: {{ .Values.config.changePollInterval | quote }}
TESSERA_USAGE_FLUSH_INTERVAL: {{ .Values.config.usageFlushInterval | quote }}
{{- if include "tessera.tlsEnabled" . }}
TESSERA_TLS_CERT_FILE: "/etc/tessera/tls/tls.crt"
TESSERA_TLS_KEY_FILE: "/etc/tessera/tls/tls.key"
{{- if .Values.tls.clientAuth }}
TESSERA_TLS_CLIENT_CA_FILE: "/etc/tessera/tls/ca.crt"
{{- end }}
{{- end }}
TESSERA_ENDED_TOKEN_RETENTION: {{ .Values.config.endedTokenRetention | quote }}
TESSERA_PRUNE_INTERVAL: {{ .Values.config.pruneInterval | quote }}
TESSERA_AUDIT_RETENTION: {{ .Values.config.auditRetention | quote }}
TESSERA_AUDIT_DECISIONS: {{ .Values.config.auditDecisions | quote }}
TESSERA_ISSUER: {{ .Values.config.issuer | quote }}
TESSERA_SESSION_AUDIENCE: {{ .Values.config.sessionAudience | quote }}
TESSERA_SESSION_TTL: {{ .Values.config.sessionTtl | quote }}
TESSERA_PAT_ISSUERS: {{ .Values.config.patIssuers | quote }}
{{- with .Values.config.oauth.issuer }}
TESSERA_OAUTH_ISSUER: {{ . | quote }}
{{- end }}
{{- with .Values.config.oauth.consentUrl }}
TESSERA_CONSENT_URL: {{ . | quote }}
{{- end }}
TESSERA_UI_TITLE: {{ .Values.config.oauth.uiTitle | quote }}
TESSERA_UI_ACCENT_COLOR: {{ .Values.config.oauth.uiAccentColor | quote }}
TESSERA_AUTHORIZATION_CODE_TTL: {{ .Values.config.oauth.authorizationCodeTtl | quote }}
TESSERA_ACCESS_TOKEN_TTL: {{ .Values.config.oauth.accessTokenTtl | quote }}
TESSERA_REFRESH_TOKEN_TTL: {{ .Values.config.oauth.refreshTokenTtl | quote }}
TESSERA_REFRESH_FAMILY_LIFETIME: {{ .Values.config.oauth.refreshFamilyLifetime | quote }}
TESSERA_REFRESH_REUSE_GRACE: {{ .Values.config.oauth.refreshReuseGrace | quote }}
TESSERA_CLIENT_SECRET_GRACE: {{ .Values.config.oauth.clientSecretGrace | quote }}
TESSERA_MAX_TOKENS_PER_USER: {{ .Values.config.maxTokensPerUser | int | toString | quote }}
TESSERA_MAX_CONCURRENT_REQUESTS: {{ .Values.config.maxConcurrentRequests | int | toString | quote }}
TESSERA_MAX_CONNECTIONS: {{ .Values.config.maxConnections | int | toString | quote }}
TESSERA_REQUEST_TIMEOUT: {{ .Values.config.requestTimeout | quote }}
{{- with .Values.config.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Guards that make a broken configuration fail at install time with a clear message rather than
as a crash-looping pod. Included by the Deployment, so every render runs them.
*/}}
{{- /* TLS is on with an existing Secret or a cert-manager Certificate. */ -}}
{{- define "tessera.tlsEnabled" -}}
{{- if or .Values.tls.existingSecret (.Values.tls.certManager.issuerRef | default dict).name -}}true{{- end -}}
{{- end -}}

{{- define "tessera.tlsSecretName" -}}
{{- .Values.tls.existingSecret | default (printf "%s-tls" (include "tessera.fullname" .)) -}}
{{- end -}}

{{- define "tessera.tlsServerName" -}}
{{- .Values.tls.serverName | default (printf "%s.%s.svc" (include "tessera.fullname" .) .Release.Namespace) -}}
{{- end -}}

{{- /*
A probe's action: kubelet's native gRPC probe in plaintext; over TLS `tessera health`
(exec), trusting the Secret's ca.crt and, with mutual TLS, presenting the pod's own
certificate. Takes (dict "root" $ "service" NAME).
*/ -}}
{{- define "tessera.probeAction" -}}
{{- if include "tessera.tlsEnabled" .root }}
exec:
  command:
    - /usr/local/bin/tessera
    - health
    - --service={{ .service }}
    - --server=https://127.0.0.1:50051
    - --ca-file=/etc/tessera/tls/ca.crt
    - --tls-server-name={{ include "tessera.tlsServerName" .root }}
    {{- if .root.Values.tls.clientAuth }}
    - --client-cert-file=/etc/tessera/tls/tls.crt
    - --client-key-file=/etc/tessera/tls/tls.key
    {{- end }}
{{- else }}
grpc:
  port: 50051
  service: {{ .service | quote }}
{{- end }}
{{- end -}}

{{- define "tessera.validate" -}}
{{- $sqlite := include "tessera.isSqlite" . }}
{{- if and .Values.tls.existingSecret (.Values.tls.certManager.issuerRef | default dict).name }}
{{- fail "set tls.existingSecret or tls.certManager.issuerRef, not both: the Certificate writes its own Secret (<fullname>-tls)" }}
{{- end }}
{{- if and .Values.tls.clientAuth (not (include "tessera.tlsEnabled" .)) }}
{{- fail "tls.clientAuth needs TLS: set tls.existingSecret or tls.certManager.issuerRef" }}
{{- end }}
{{- if $sqlite }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "database.type=sqlite supports exactly one replica, but replicaCount=%d: SQLite is a single-writer file on one pod's volume. Set replicaCount=1, or use database.type=postgres to run several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1) }}
{{- fail (printf "database.type=sqlite supports exactly one replica, but autoscaling is enabled with maxReplicas=%d. Disable autoscaling, or use database.type=postgres." (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- with .Values.database.url }}
{{- if and $sqlite (not (hasPrefix "sqlite:" .)) }}
{{- fail "database.type=sqlite but database.url does not start with sqlite: (set database.type=postgres for a PostgreSQL URL)" }}
{{- end }}
{{- if and (not $sqlite) (not (or (hasPrefix "postgres://" .) (hasPrefix "postgresql://" .))) }}
{{- fail "database.type=postgres but database.url does not start with postgres:// or postgresql://" }}
{{- end }}
{{- end }}
{{- if and (not $sqlite) (not .Values.existingSecret) (not .Values.database.url) }}
{{- include "tessera.databaseUrl" . }}
{{- end }}
{{- end }}
