{{/*
The PodDisruptionBudget of one service (podDisruptionBudgets.enabled).
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "pantry-lib.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
spec:
  {{- if .svc.pdb.minAvailable }}
  minAvailable: {{ .svc.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .svc.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "pantry-lib.selectorLabels" . | nindent 6 }}
{{- end -}}
