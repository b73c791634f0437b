{{/*
Names, labels, the image reference and the environment of one Pantry Chef service.

Every template of this library takes a dict:
  root       the calling chart's context ($)
  component  the service's name in Kubernetes objects: api, recipe-engine, realtime
  svc        the service's block of values
*/}}

{{/* The chart's name, shortened to what a label value allows. */}}
{{- define "pantry-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name: the release name, with the chart's name unless it already has it. */}}
{{- define "pantry-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>: the name of every object of one service. */}}
{{- define "pantry-lib.componentName" -}}
{{- printf "%s-%s" (include "pantry-lib.fullname" .root | trunc 45 | trimSuffix "-") .component | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of the release (on every object). Takes the root context. */}}
{{- define "pantry-lib.releaseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "pantry-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pantry-chef
{{- end -}}

{{/* Labels that select the pods of one service. */}}
{{- define "pantry-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pantry-lib.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one service's objects. */}}
{{- define "pantry-lib.labels" -}}
{{ include "pantry-lib.releaseLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image tag: the service's, else the release's, else the chart's appVersion. Never `latest`. */}}
{{- define "pantry-lib.imageTag" -}}
{{- $tag := toString (.svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- if or (eq $tag "latest") (hasSuffix ":latest" $tag) -}}
{{- fail (printf "%s: the image tag `latest` is refused; tag images with the git revision" .component) -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{/* registry/repository:tag of one service. */}}
{{- define "pantry-lib.image" -}}
{{- $registry := .svc.image.registry | default .root.Values.image.registry -}}
{{- $repository := required (printf "%s.image.repository is required" .component) .svc.image.repository -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry $repository (include "pantry-lib.imageTag" .) -}}
{{- else -}}
{{- printf "%s:%s" $repository (include "pantry-lib.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* The service account of one service. */}}
{{- define "pantry-lib.serviceAccountName" -}}
{{- if .root.Values.serviceAccounts.create -}}
{{- default (include "pantry-lib.componentName" .) .svc.serviceAccount.name -}}
{{- else -}}
{{- default "default" .svc.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The annotations of one service's ServiceAccount, as YAML (empty: none): `serviceAccounts.annotations`,
then the service's own, and with `workloadIdentity.enabled` GKE's
`iam.gke.io/gcp-service-account: <serviceAccount.gcpServiceAccount>@<projectId>.iam.gserviceaccount.com`
(the Google service account that helm/gcp creates for it and binds to this ServiceAccount).
*/}}
{{- define "pantry-lib.serviceAccountAnnotations" -}}
{{- $annotations := mergeOverwrite (deepCopy (.root.Values.serviceAccounts.annotations | default dict)) (.svc.serviceAccount.annotations | default dict) -}}
{{- $wi := .root.Values.workloadIdentity | default dict -}}
{{- if $wi.enabled -}}
{{- $project := required "workloadIdentity.projectId is required: the Google Cloud project of the services' Google service accounts (--set workloadIdentity.projectId=my-project)" $wi.projectId -}}
{{- $gsa := required (printf "%s.serviceAccount.gcpServiceAccount is required with workloadIdentity.enabled: the name of its Google service account" .component) .svc.serviceAccount.gcpServiceAccount -}}
{{- $_ := set $annotations "iam.gke.io/gcp-service-account" (printf "%s@%s.iam.gserviceaccount.com" $gsa $project) -}}
{{- end -}}
{{- with $annotations -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/* Whether the HorizontalPodAutoscaler of this service is on: the release's switch and the service's. */}}
{{- define "pantry-lib.hpaEnabled" -}}
{{- if and .root.Values.autoscaling.enabled (ne (toString .svc.autoscaling.enabled) "false") -}}true{{- end -}}
{{- end -}}

{{/*
Whether this workload runs the New Relic agent: the release's `newRelic.enabled`, unless the
caller passes "newRelic" false in the dict (the migration and seed Jobs: a one-off command is no
APM application, and without a license key the agent stays off).
*/}}
{{- define "pantry-lib.newRelic" -}}
{{- if and .root.Values.newRelic .root.Values.newRelic.enabled (ne (toString (index . "newRelic")) "false") -}}true{{- end -}}
{{- end -}}

{{/*
The non-secret environment of one service, as a YAML map of name: "value" (all strings):
PANTRY_ENVIRONMENT, the release's shared `config`, the service's `config`, the host and port the
service listens on (<envPrefix>HOST, <envPrefix>PORT), and the New Relic agent's settings when
on (the license key comes from a Secret: pantry-lib.secretEnv). Later entries win, so a service
can override a shared setting.
*/}}
{{- define "pantry-lib.envMap" -}}
{{- $env := dict "PANTRY_ENVIRONMENT" .root.Values.environment -}}
{{- range $name, $value := .root.Values.config -}}
{{- $_ := set $env $name $value -}}
{{- end -}}
{{- range $name, $value := .svc.config -}}
{{- $_ := set $env $name $value -}}
{{- end -}}
{{- $prefix := required (printf "%s.envPrefix is required" .component) .svc.envPrefix -}}
{{- $_ := set $env (printf "%sHOST" $prefix) "0.0.0.0" -}}
{{- $_ := set $env (printf "%sPORT" $prefix) .svc.port -}}
{{- if include "pantry-lib.newRelic" . -}}
{{- $_ := set $env "NEW_RELIC_APP_NAME" (printf "%s-%s" .root.Values.newRelic.appNamePrefix .component) -}}
{{- $_ := set $env "NEW_RELIC_LABELS" (printf "environment:%s" .root.Values.environment) -}}
{{- $_ := set $env "NEW_RELIC_ENVIRONMENT" .root.Values.environment -}}
{{- $_ := set $env "NEW_RELIC_DISTRIBUTED_TRACING_ENABLED" "true" -}}
{{- /* The cluster's log shipper (newrelic-logging) sends the pods' stdout, trace ids included: the agent must not send the same lines again. */ -}}
{{- $_ := set $env "NEW_RELIC_APPLICATION_LOGGING_FORWARDING_ENABLED" "false" -}}
{{- $_ := set $env "NEW_RELIC_LOG" "stdout" -}}
{{- end -}}
{{- range $name := keys $env | sortAlpha }}
{{ $name }}: {{ include "pantry-lib.string" (index $env $name) | quote }}
{{- end -}}
{{- end -}}

{{/*
A value as an environment string. YAML numbers reach templates as float64, which `toString`
would print as 3e+06: whole numbers are printed as integers.
*/}}
{{- define "pantry-lib.string" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- printf "%.0f" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* The secret environment of one service: `env` entries that read keys of an existing Secret. */}}
{{- define "pantry-lib.secretEnv" -}}
{{- $secretName := required "secrets.existingSecret is required (the Secret with the database, Redis and RabbitMQ URLs)" .root.Values.secrets.existingSecret -}}
{{- /* A service's own entry replaces the shared one of the same name (on GKE the engine reads
its own database URL: its own IAM database user). */ -}}
{{- $own := list -}}
{{- range $item := .svc.secretEnv | default list }}{{ $own = append $own $item.name }}{{ end -}}
{{- $shared := list -}}
{{- range $item := .root.Values.secrets.env }}{{ if not (has $item.name $own) }}{{ $shared = append $shared $item }}{{ end }}{{ end -}}
{{- range $item := concat $shared (.svc.secretEnv | default list) }}
- name: {{ $item.name }}
  valueFrom:
    secretKeyRef:
      name: {{ $item.secretName | default $secretName }}
      key: {{ $item.key }}
      {{- if $item.optional }}
      optional: true
      {{- end }}
{{- end }}
{{- if include "pantry-lib.newRelic" . }}
- name: NEW_RELIC_LICENSE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "newRelic.licenseKeySecret.name is required when newRelic.enabled" .root.Values.newRelic.licenseKeySecret.name }}
      key: {{ required "newRelic.licenseKeySecret.key is required when newRelic.enabled" .root.Values.newRelic.licenseKeySecret.key }}
{{- end }}
{{- end -}}

{{/*
The whole environment as a list of `env` entries (values inline): for hook Jobs, which run
before the release's ConfigMaps exist.
*/}}
{{- define "pantry-lib.env" -}}
{{- $env := include "pantry-lib.envMap" . | fromYaml -}}
{{- range $name := keys $env | sortAlpha }}
- name: {{ $name }}
  value: {{ index $env $name | quote }}
{{- end }}
{{- include "pantry-lib.secretEnv" . }}
{{- end -}}

{{/* The container security context: the release's, merged with the service's overrides. */}}
{{- define "pantry-lib.containerSecurityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.containerSecurityContext) (.svc.containerSecurityContext | default dict)) -}}
{{- end -}}

{{/* The pod security context: the release's, merged with the service's overrides. */}}
{{- define "pantry-lib.podSecurityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.podSecurityContext) (.svc.podSecurityContext | default dict)) -}}
{{- end -}}

{{/* Whether the release runs in the Istio mesh (the calling chart's istio.enabled). */}}
{{- define "pantry-lib.istio" -}}
{{- if and .root.Values.istio .root.Values.istio.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The requests and memory limit of the Istio proxy injected into a pod, as the pod's annotations
(istio.proxyResources): the chart, not the mesh's defaults, says what the sidecar takes, so that
the namespace's ResourceQuota and LimitRange can count it. Called with the root context.
*/}}
{{- define "pantry-lib.istioProxyResources" -}}
{{- with .Values.istio.proxyResources -}}
{{- with .requests }}
{{- with .cpu }}
sidecar.istio.io/proxyCPU: {{ . | quote }}
{{- end }}
{{- with .memory }}
sidecar.istio.io/proxyMemory: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .limits }}
{{- with .memory }}
sidecar.istio.io/proxyMemoryLimit: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Whether this service gets the Cloud SQL Auth Proxy: the release's switch and the service's.
*/}}
{{- define "pantry-lib.cloudSqlProxyOn" -}}
{{- $proxy := .root.Values.cloudSqlProxy | default dict -}}
{{- if and $proxy.enabled .svc.cloudSqlProxy -}}true{{- end -}}
{{- end -}}

{{/*
The Cloud SQL Auth Proxy as a native sidecar: an init container with `restartPolicy: Always`
starts before the app and keeps running beside it, and the kubelet stops it after the app's
containers have ended, so that a Job whose migration exits completes (a plain sidecar
container would keep the Job's pod running for ever). The app connects to 127.0.0.1:<port>
with its IAM database user and no password: the proxy logs in with the pod's Workload Identity
token (`--auto-iam-authn`) over the instance's private address (`--private-ip`). Its startup
probe holds the app back until the proxy listens.
*/}}
{{- define "pantry-lib.cloudSqlProxy" -}}
{{- $proxy := .root.Values.cloudSqlProxy -}}
- name: cloud-sql-proxy
  image: {{ $proxy.image }}
  imagePullPolicy: IfNotPresent
  restartPolicy: Always
  args:
    - --auto-iam-authn
    - --private-ip
    - --structured-logs
    - --address=127.0.0.1
    - {{ printf "--port=%d" (int $proxy.port) }}
    - --health-check
    - --http-address=0.0.0.0
    - {{ printf "--http-port=%d" (int $proxy.healthPort) }}
    - {{ required "cloudSqlProxy.instanceConnectionName is required with cloudSqlProxy.enabled: <project>:<region>:<instance> of the Cloud SQL instance" $proxy.instanceConnectionName | quote }}
  startupProbe:
    httpGet:
      path: /startup
      port: {{ $proxy.healthPort }}
    periodSeconds: 1
    failureThreshold: 60
  livenessProbe:
    httpGet:
      path: /liveness
      port: {{ $proxy.healthPort }}
    periodSeconds: 10
    failureThreshold: 3
  resources:
    {{- toYaml $proxy.resources | nindent 4 }}
  securityContext:
    {{- include "pantry-lib.containerSecurityContext" . | nindent 4 }}
{{- end -}}
