{{/*
The Deployment of one service, and the probe it is built from.
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.probe" -}}
httpGet:
  path: {{ .probe.path }}
  port: http
{{- with .probe.initialDelaySeconds }}
initialDelaySeconds: {{ . }}
{{- end }}
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 2 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end -}}

{{- define "pantry-lib.deployment" -}}
{{- $name := include "pantry-lib.componentName" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
spec:
  {{- if not (include "pantry-lib.hpaEnabled" .) }}
  replicas: {{ .svc.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "pantry-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "pantry-lib.labels" . | nindent 8 }}
        # Istio's telemetry names workloads by `app` and `version`.
        app: {{ $name }}
        version: {{ include "pantry-lib.imageTag" . | quote }}
        {{- if include "pantry-lib.istio" . }}
        # Injection by the pod's label works even where the namespace lacks istio-injection.
        sidecar.istio.io/inject: "true"
        {{- end }}
        {{- with .svc.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "pantry-lib.envMap" . | sha256sum }}
        {{- if include "pantry-lib.istio" . }}
        {{- $grace := int (.svc.terminationGracePeriodSeconds | default 30) }}
        # The app starts once its proxy is ready (its first connections go through it), and the
        # proxy keeps the app's connections open while the app drains after SIGTERM.
        proxy.istio.io/config: {{ dict "holdApplicationUntilProxyStarts" true "terminationDrainDuration" (printf "%ds" (max 5 (sub $grace 5))) | toJson | quote }}
        {{- include "pantry-lib.istioProxyResources" .root | nindent 8 }}
        {{- end }}
        {{- if .root.Values.metrics.prometheusAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .svc.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with (mergeOverwrite (deepCopy (.root.Values.podAnnotations | default dict)) (.svc.podAnnotations | default dict)) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "pantry-lib.serviceAccountName" . }}
      automountServiceAccountToken: false
      {{- with .root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: {{ .svc.terminationGracePeriodSeconds | default 30 }}
      securityContext:
        {{- include "pantry-lib.podSecurityContext" . | nindent 8 }}
      {{- with .svc.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- if .svc.topologySpread }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "pantry-lib.selectorLabels" . | nindent 14 }}
      {{- end }}
      {{- with .svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .svc.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if include "pantry-lib.cloudSqlProxyOn" . }}
      initContainers:
        {{- include "pantry-lib.cloudSqlProxy" . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "pantry-lib.image" . }}
          imagePullPolicy: {{ .svc.image.pullPolicy | default .root.Values.image.pullPolicy }}
          {{- with .svc.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ .svc.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name }}
          env:
            {{- include "pantry-lib.secretEnv" . | trim | nindent 12 }}
            {{- with .svc.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            {{- include "pantry-lib.probe" (dict "probe" .svc.probes.startup) | nindent 12 }}
          livenessProbe:
            {{- include "pantry-lib.probe" (dict "probe" .svc.probes.liveness) | nindent 12 }}
          readinessProbe:
            {{- include "pantry-lib.probe" (dict "probe" .svc.probes.readiness) | nindent 12 }}
          {{- if .svc.preStopSleepSeconds }}
          lifecycle:
            # Keep serving while the endpoints and the proxies forget this pod.
            preStop:
              exec:
                command: ["sleep", {{ .svc.preStopSleepSeconds | quote }}]
          {{- end }}
          resources:
            {{- toYaml .svc.resources | nindent 12 }}
          securityContext:
            {{- include "pantry-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            # The root filesystem is read-only: /tmp is the only writable place.
            - name: tmp
              mountPath: /tmp
            {{- if (.root.Values.devReload).enabled }}
            # The dev overlay runs the service from this tree (PYTHONPATH) and reloads on change.
            - name: source
              mountPath: /src
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ .svc.tmpSizeLimit | default "64Mi" }}
        {{- if (.root.Values.devReload).enabled }}
        - name: source
          persistentVolumeClaim:
            claimName: {{ printf "%s-source" (include "pantry-lib.fullname" .root | trunc 56 | trimSuffix "-") }}
            readOnly: true
        {{- end }}
{{- end -}}
