{{/*
The ServiceAccount of one service (serviceAccounts.create).
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.serviceaccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "pantry-lib.serviceAccountName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
  {{- with include "pantry-lib.serviceAccountAnnotations" . }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
# The services do not call the Kubernetes API.
automountServiceAccountToken: false
{{- end -}}
