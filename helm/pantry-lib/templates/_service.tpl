{{/*
The ClusterIP Service of one service.
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "pantry-lib.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
  {{- with .svc.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "pantry-lib.selectorLabels" . | nindent 4 }}
  ports:
    # Istio reads the protocol from the port's name (`http`, `http-*`) or appProtocol.
    - name: http
      appProtocol: http
      port: {{ .svc.port }}
      targetPort: http
      protocol: TCP
{{- end -}}
