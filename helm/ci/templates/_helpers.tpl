{{- define "pantry-ci.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- if $registry }}{{ $registry }}/{{ end }}pantry-ci/{{ .name }}:{{ required "image.tag is required" .root.Values.image.tag }}
{{- end }}

{{- define "pantry-ci.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: pantry-ci
{{- end }}

{{- define "pantry-ci.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.servers.credentialsSecret }}
      key: {{ .key }}
{{- end }}
