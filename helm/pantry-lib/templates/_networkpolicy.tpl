{{/*
The NetworkPolicy of one service (networkPolicies.create).
Included by "pantry-lib.component" (_component.tpl) with its dict ("root", "component", "svc").
*/}}
{{- define "pantry-lib.networkpolicy" -}}
{{- $np := .root.Values.networkPolicies -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "pantry-lib.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "pantry-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "pantry-lib.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    # The release's own pods (the `helm test` pod among them).
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/instance: {{ .root.Release.Name }}
      ports:
        - port: http
          protocol: TCP
    {{- if .svc.exposedThroughIngress }}
    # The ingress gateway.
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $np.ingressGateway.namespace }}
          {{- with $np.ingressGateway.podLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
      ports:
        - port: http
          protocol: TCP
    {{- end }}
    {{- with $np.extraIngressFrom }}
    # Whatever else may reach every service (monitoring), on any port.
    - from:
        {{- toYaml . | nindent 8 }}
    {{- end }}
{{- end -}}
