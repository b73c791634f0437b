{{/*
The ConfigMap of one service: its non-secret environment.
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "pantry-lib.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
data:
  {{- include "pantry-lib.envMap" . | trim | nindent 2 }}
{{- end -}}
