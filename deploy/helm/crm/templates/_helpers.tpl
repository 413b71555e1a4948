{{/* Names, labels and the facts about each service the templates share. */}}

{{- define "crm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "crm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crm
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "service" "contacts") */}}
{{- define "crm.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "crm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "crm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* What each service is: whether it keeps a database schema, its consumer group (for lag
   scaling), its secrets and the services it calls. */}}
{{- define "crm.facts" -}}
contacts:
  database: true
  secrets: [CONTACTS_KEY_ENCRYPTION_KEY]
  optionalSecrets: []
  calls: []
sales:
  database: true
  group: sales.contacts
  secrets: [SALES_KEY_ENCRYPTION_KEY]
  optionalSecrets: [SALES_CONTACTS_CLIENT_SECRET]
  calls: [contacts]
support:
  database: true
  group: support.contacts
  secrets: [SUPPORT_KEY_ENCRYPTION_KEY, SUPPORT_SURVEY_SIGNING_KEY]
  optionalSecrets: [SUPPORT_INBOUND_WEBHOOK_SIGNING_KEY]
  calls: []
analytics:
  database: true
  group: analytics
  secrets: []
  optionalSecrets: []
  calls: []
analytics-rebuild:
  database: true
  secrets: []
  optionalSecrets: []
  calls: []
gateway:
  database: false
  secrets: []
  optionalSecrets: []
  calls: [contacts, sales, support, analytics]
{{- end -}}

{{- define "crm.image" -}}
{{- $image := .root.Values.image -}}
{{- $reference := printf "%s/%s/%s:%s" $image.registry $image.repository .service (default .root.Chart.AppVersion $image.tag) -}}
{{- with index $image.digests .service -}}
{{- $reference = printf "%s@%s" $reference . -}}
{{- end -}}
{{- $reference -}}
{{- end -}}

{{- define "crm.databaseSecretName" -}}
{{- if .Values.database.urlSecret.name -}}
{{- .Values.database.urlSecret.name -}}
{{- else if .Values.cloudnativepg.enabled -}}
{{- printf "%s-postgres-app" (include "crm.fullname" .) -}}
{{- else -}}
{{- fail "database.urlSecret.name: name the Secret holding DATABASE_URL, or enable cloudnativepg" -}}
{{- end -}}
{{- end -}}

{{- define "crm.topic" -}}
{{- printf "%s.%s.events" .root.Values.platform.topicPrefix .service -}}
{{- end -}}

{{/* The refusals: settings that would lose data or open the API. */}}
{{- define "crm.checks" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.existingSecret: create a Secret with the services' keys (see values.yaml) and name it here" -}}
{{- end -}}
{{- if and (not .Values.auth.issuer) (not .Values.auth.allowUnauthenticated) -}}
{{- fail "auth.issuer: set your OIDC issuer (or auth.allowUnauthenticated=true, for development only)" -}}
{{- end -}}
{{- $drain := add .Values.platform.consumerGracefulTimeoutSeconds .Values.platform.preStopSleepSeconds 5 -}}
{{- range $name, $service := .Values.services -}}
{{- if le (int $service.terminationGracePeriodSeconds) (int $drain) -}}
{{- fail (printf "services.%s.terminationGracePeriodSeconds: %v is not above the drain time (platform.consumerGracefulTimeoutSeconds + preStopSleepSeconds + 5 = %v): pods would be killed mid-batch" $name $service.terminationGracePeriodSeconds $drain) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "crm.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* envFrom and env of a service's containers: (dict "root" $ "name" "sales" "fact" $fact) */}}
{{- define "crm.containerEnv" -}}
{{- $fullname := include "crm.fullname" .root -}}
envFrom:
  - configMapRef:
      name: {{ $fullname }}-platform
  - configMapRef:
      name: {{ $fullname }}-{{ .name }}
env:
  {{- if .fact.database }}
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "crm.databaseSecretName" .root }}
        key: {{ .root.Values.database.urlSecret.key }}
  {{- end }}
  {{- range .fact.secrets }}
  - name: {{ . }}
    valueFrom:
      secretKeyRef:
        name: {{ $.root.Values.secrets.existingSecret }}
        key: {{ . }}
  {{- end }}
  {{- range .fact.optionalSecrets }}
  - name: {{ . }}
    valueFrom:
      secretKeyRef:
        name: {{ $.root.Values.secrets.existingSecret }}
        key: {{ . }}
        optional: true
  {{- end }}
  - name: POD_NAME
    valueFrom:
      fieldRef: {fieldPath: metadata.name}
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef: {fieldPath: metadata.namespace}
  - name: OTEL_RESOURCE_ATTRIBUTES
    value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"
{{- end -}}
