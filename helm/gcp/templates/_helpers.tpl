{{/* The required values: each one, when missing, fails the render with its name. */}}
{{- define "gcp.project" -}}
{{- required "projectId is required: the Google Cloud project id (--set projectId=my-project)" .Values.projectId -}}
{{- end -}}
{{- define "gcp.region" -}}
{{- required "region is required: the region of the resources, e.g. europe-west1" .Values.region -}}
{{- end -}}
{{- define "gcp.zone" -}}
{{- required "zone is required: the zone of the cluster, e.g. europe-west1-b" .Values.zone -}}
{{- end -}}

{{/* The metadata every object carries: name, labels, the project Config Connector creates it in. */}}
{{- define "gcp.metadata" -}}
name: {{ .name }}
labels:
  app.kubernetes.io/name: pantry-gcp
  app.kubernetes.io/instance: {{ .root.Release.Name }}
  app.kubernetes.io/managed-by: {{ .root.Release.Service }}
  helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
  {{- with .root.Values.labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  cnrm.cloud.google.com/project-id: {{ include "gcp.project" .root }}
  {{- if and .keep .root.Values.keepOnUninstall }}
  cnrm.cloud.google.com/deletion-policy: abandon
  {{- end }}
  {{- with .annotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* The e-mail of a Google service account, from its name. */}}
{{- define "gcp.gsaEmail" -}}
{{- printf "%s@%s.iam.gserviceaccount.com" .gsa (include "gcp.project" .root) -}}
{{- end -}}
