{{/* Helpers of the pantry-chef chart; the shared templates are in the pantry-lib library. */}}

{{/* The in-cluster DNS name of one service's Service. */}}
{{- define "pantry-chef.host" -}}
{{- printf "%s.%s.svc.cluster.local" (include "pantry-lib.componentName" .) .root.Release.Namespace -}}
{{- end -}}

{{/* Labels of an object of the release that belongs to no one service. */}}
{{- define "pantry-chef.labels" -}}
{{ include "pantry-lib.releaseLabels" . }}
{{- end -}}

{{/* Labels that select every pod of the release. */}}
{{- define "pantry-chef.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pantry-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The gateway the VirtualService is bound to. */}}
{{- define "pantry-chef.gatewayName" -}}
{{- if .Values.istio.gateway.create -}}
{{- printf "%s/%s" .Release.Namespace (include "pantry-lib.fullname" .) -}}
{{- else -}}
{{- required "istio.gateway.name is required when istio.gateway.create is false" .Values.istio.gateway.name -}}
{{- end -}}
{{- end -}}
