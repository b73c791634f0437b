{{/*
Every object of one service, separated by `---`. Call it as
  {{ include "pantry-lib.component" (dict "root" . "component" "api" "svc" .Values.api) }}
Nothing is rendered when the service's `enabled` is false. Each kind of object has its own file
(_serviceaccount.tpl, _configmap.tpl, _service.tpl, _deployment.tpl, _hpa.tpl, _pdb.tpl,
_networkpolicy.tpl); the helpers they share are in _helpers.tpl.
*/}}
{{- define "pantry-lib.component" -}}
{{- if .svc.enabled }}
{{- if .root.Values.serviceAccounts.create }}
---
{{ include "pantry-lib.serviceaccount" . }}
{{- end }}
---
{{ include "pantry-lib.configmap" . }}
---
{{ include "pantry-lib.service" . }}
---
{{ include "pantry-lib.deployment" . }}
{{- if include "pantry-lib.hpaEnabled" . }}
---
{{ include "pantry-lib.hpa" . }}
{{- end }}
{{- if .root.Values.podDisruptionBudgets.enabled }}
---
{{ include "pantry-lib.pdb" . }}
{{- end }}
{{- if .root.Values.networkPolicies.create }}
---
{{ include "pantry-lib.networkpolicy" . }}
{{- end }}
{{- end }}
{{- end -}}
