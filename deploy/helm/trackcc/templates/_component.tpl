{{/*
The one template of a TrackCC component: ServiceAccount, Service, Deployment, HPA, PDB,
NetworkPolicy, ServiceMonitor and Certificate of the entry `name` of .Values.services.
Call with (dict "root" $ "name" "auth"). components.yaml ranges over the map; nothing is
copied per service.
*/}}
{{- define "trackcc.component" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $svc := index $root.Values.services $name }}
{{- $ctx := dict "root" $root "component" $name }}
{{- $fullname := include "trackcc.serviceName" $ctx }}
{{- $prefix := $svc.envPrefix }}
{{- $portName := ternary "https" "grpc" (eq $svc.protocol "https") }}
{{- $smtpLogin := and $svc.smtp (or $root.Values.smtp.existingSecret $root.Values.smtp.username) }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
# No component talks to the Kubernetes API: no token in the pods.
automountServiceAccountToken: false
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "trackcc.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: {{ $portName }}
      port: {{ $svc.port }}
      targetPort: {{ $portName }}
      protocol: TCP
      {{- if eq $svc.protocol "grpc" }}
      appProtocol: grpc
      {{- end }}
    - name: metrics
      port: {{ $root.Values.metricsPort }}
      targetPort: metrics
      protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  {{- if not $svc.autoscaling.enabled }}
  replicas: {{ $svc.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "trackcc.selectorLabels" $ctx | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Never below the wanted count during a rollout: a new pod must be ready first.
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "trackcc.labels" $ctx | nindent 8 }}
      annotations:
        {{- /* A changed JWKS or signing-key Secret created by the chart rolls the pods. */}}
        checksum/jwt: {{ printf "%v%v%v" $root.Values.jwt.signingKeys $root.Values.jwt.jwks.json $root.Values.jwt.activeKid | sha256sum }}
        {{- with $svc.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $fullname }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ add $svc.shutdownGraceSeconds $root.Values.probes.preStopSleepSeconds 10 }}
      securityContext:
        {{- include "trackcc.podSecurityContext" $root | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.topologySpread }}
      topologySpreadConstraints:
        {{- range . }}
        - maxSkew: {{ .maxSkew }}
          topologyKey: {{ .topologyKey }}
          whenUnsatisfiable: {{ .whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "trackcc.selectorLabels" $ctx | nindent 14 }}
          # Counts only pods of the same rollout, so old pods do not skew the new ones.
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
      {{- end }}
      {{- with $svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          {{- $image := include "trackcc.image" $ctx }}
          image: {{ $image | quote }}
          imagePullPolicy: {{ include "trackcc.pullPolicy" (dict "root" $root "image" $image) }}
          {{- /* The image's ENTRYPOINT is `python -m <module>`; stated again so the pod spec
               says what runs. */}}
          command: ["python", "-m", {{ $svc.module | quote }}]
          {{- if eq $svc.protocol "grpc" }}
          args: ["serve"]
          {{- end }}
          ports:
            - name: {{ $portName }}
              containerPort: {{ $svc.port }}
              protocol: TCP
            - name: metrics
              containerPort: {{ $root.Values.metricsPort }}
              protocol: TCP
            {{- if eq $svc.protocol "grpc" }}
            - name: health
              containerPort: {{ $root.Values.healthPort }}
              protocol: TCP
            {{- end }}
          env:
            - name: TRACKCC_LOG_LEVEL
              value: {{ $root.Values.logLevel | quote }}
            - name: TRACKCC_PUBLIC_URL
              value: {{ $root.Values.publicUrl | quote }}
            - name: TRACKCC_JWT_ISSUER
              value: {{ $root.Values.jwt.issuer | quote }}
            - name: TRACKCC_JWT_AUDIENCE
              value: {{ $root.Values.jwt.audience | quote }}
            - name: {{ $prefix }}_LISTEN
              value: {{ printf "0.0.0.0:%v" $svc.port | quote }}
            - name: {{ $prefix }}_METRICS_LISTEN
              value: {{ printf "0.0.0.0:%v" $root.Values.metricsPort | quote }}
            - name: {{ $prefix }}_TLS_CERT
              value: /etc/trackcc/tls/tls.crt
            - name: {{ $prefix }}_TLS_KEY
              value: /etc/trackcc/tls/tls.key
            - name: {{ $prefix }}_TLS_CA
              value: /etc/trackcc/tls/ca.crt
            - name: {{ $prefix }}_SHUTDOWN_GRACE_SECONDS
              value: {{ $svc.shutdownGraceSeconds | quote }}
            {{- if eq $svc.protocol "grpc" }}
            - name: {{ $prefix }}_HEALTH_LISTEN
              value: {{ printf "0.0.0.0:%v" $root.Values.healthPort | quote }}
            {{- end }}
            {{- if eq $svc.protocol "https" }}
            - name: {{ $prefix }}_HTTPS_CERT
              value: /etc/trackcc/https/tls.crt
            - name: {{ $prefix }}_HTTPS_KEY
              value: /etc/trackcc/https/tls.key
            {{- with $root.Values.gateway.trustedProxies }}
            - name: {{ $prefix }}_TRUSTED_PROXIES
              value: {{ join "," . | quote }}
            {{- end }}
            {{- end }}
            {{- range $callee := $svc.calls }}
            {{- $target := index $root.Values.services $callee }}
            - name: {{ printf "%s_%s_TARGET" $prefix (upper $callee) }}
              value: {{ printf "%s:%v" (include "trackcc.serviceName" (dict "root" $root "component" $callee)) $target.port | quote }}
            {{- end }}
            {{- if $svc.database }}
            {{- include "trackcc.dsnEnv" (dict "envName" (printf "%s_DATABASE_URL" $prefix)) | nindent 12 }}
            {{- end }}
            {{- if $svc.jwks }}
            - name: TRACKCC_JWT_JWKS_FILE
              value: /etc/trackcc/jwks/jwks.json
            {{- end }}
            {{- if eq $name "auth" }}
            - name: TRACKCC_AUTH_JWT_KEYS_DIR
              value: /etc/trackcc/jwt-keys
            {{- with $root.Values.jwt.activeKid }}
            - name: TRACKCC_AUTH_JWT_ACTIVE_KID
              value: {{ . | quote }}
            {{- end }}
            {{- end }}
            {{- if $svc.smtp }}
            - name: TRACKCC_SMTP_HOST
              value: {{ $root.Values.smtp.host | quote }}
            - name: TRACKCC_SMTP_PORT
              value: {{ $root.Values.smtp.port | quote }}
            - name: TRACKCC_MAIL_FROM
              value: {{ $root.Values.mail.from | quote }}
            {{- if $smtpLogin }}
            {{- /* Credentials as mounted Secret files (services/common/config.py reads
                   NAME_FILE), never as environment variables. */}}
            - name: TRACKCC_SMTP_USERNAME_FILE
              value: /etc/trackcc/smtp/username
            - name: TRACKCC_SMTP_PASSWORD_FILE
              value: /etc/trackcc/smtp/password
            {{- end }}
            {{- end }}
            {{- with $svc.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- if eq $svc.protocol "grpc" }}
          {{- /*
          Kubernetes' native gRPC probes on grpc.health.v1. The kubelet speaks plaintext and
          has no client certificate, so each service also serves the health service (and only
          it) on a plaintext port; the data port stays mTLS-only. Liveness asks for the
          process (""), readiness for the service's full name (its database answers).
          */}}
          startupProbe:
            grpc:
              port: {{ $root.Values.healthPort }}
              service: ""
            periodSeconds: 5
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.startupFailureThreshold }}
          livenessProbe:
            grpc:
              port: {{ $root.Values.healthPort }}
              service: ""
            periodSeconds: {{ $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.livenessFailureThreshold }}
          readinessProbe:
            grpc:
              port: {{ $root.Values.healthPort }}
              service: {{ $svc.healthService | quote }}
            periodSeconds: {{ $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.readinessFailureThreshold }}
          {{- else }}
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ $portName }}
              scheme: HTTPS
            periodSeconds: 5
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.startupFailureThreshold }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ $portName }}
              scheme: HTTPS
            periodSeconds: {{ $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.livenessFailureThreshold }}
          readinessProbe:
            httpGet:
              # 200 only while auth, roster and sharing answer (docs/api.md, Operations).
              path: /readyz
              port: {{ $portName }}
              scheme: HTTPS
            periodSeconds: {{ $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ $root.Values.probes.readinessFailureThreshold }}
          {{- end }}
          {{- if $root.Values.probes.preStopSleepSeconds }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $root.Values.probes.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "trackcc.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: tls
              mountPath: /etc/trackcc/tls
              readOnly: true
            {{- if eq $svc.protocol "https" }}
            - name: https
              mountPath: /etc/trackcc/https
              readOnly: true
            {{- end }}
            {{- if $svc.jwks }}
            - name: jwks
              mountPath: /etc/trackcc/jwks
              readOnly: true
            {{- end }}
            {{- if eq $name "auth" }}
            - name: jwt-keys
              mountPath: /etc/trackcc/jwt-keys
              readOnly: true
            {{- end }}
            {{- if $svc.database }}
            {{- include "trackcc.dsnMount" $root | nindent 12 }}
            {{- include "trackcc.pgCaMount" $root | nindent 12 }}
            {{- end }}
            {{- if $smtpLogin }}
            - name: smtp
              mountPath: /etc/trackcc/smtp
              readOnly: true
            {{- end }}
      volumes:
        # The root filesystem is read-only; Python and libraries may still want a temp dir.
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        - name: tls
          secret:
            secretName: {{ include "trackcc.tlsSecret" $ctx }}
            defaultMode: 0440
        {{- if eq $svc.protocol "https" }}
        - name: https
          secret:
            secretName: {{ default (include "trackcc.tlsSecret" $ctx) $root.Values.gateway.httpsSecretName }}
            defaultMode: 0440
        {{- end }}
        {{- if $svc.jwks }}
        - name: jwks
          configMap:
            name: {{ default (printf "%s-jwks" (include "trackcc.fullname" $root)) $root.Values.jwt.jwks.existingConfigMap }}
        {{- end }}
        {{- if eq $name "auth" }}
        - name: jwt-keys
          secret:
            secretName: {{ default (printf "%s-jwt-signing-keys" (include "trackcc.fullname" $root)) $root.Values.jwt.existingSecret }}
            defaultMode: 0440
        {{- end }}
        {{- if $svc.database }}
        {{- include "trackcc.dsnVolume" (dict "root" $root "key" (printf "%s-url" $name) "role" (printf "trackcc_%s" $name)) | nindent 8 }}
        {{- include "trackcc.pgCaVolume" $root | nindent 8 }}
        {{- end }}
        {{- if $smtpLogin }}
        - name: smtp
          secret:
            secretName: {{ include "trackcc.smtpSecret" $root }}
            defaultMode: 0440
            items:
              - key: username
                path: username
              - key: password
                path: password
        {{- end }}
{{- if $svc.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $svc.autoscaling.minReplicas }}
  maxReplicas: {{ $svc.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $svc.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $svc.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "trackcc.selectorLabels" $ctx | nindent 6 }}
{{- if $root.Values.networkPolicy.enabled }}
---
# Who may reach {{ $name }} and whom it may reach: the edges of the call graph that touch
# it, plus DNS, metrics scraping and, where it applies, PostgreSQL and SMTP.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "trackcc.selectorLabels" $ctx | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    {{- if eq $svc.protocol "https" }}
    - ports:
        - protocol: TCP
          port: {{ $svc.port }}
      {{- if not $root.Values.loadBalancer.enabled }}
      from:
        {{- toYaml $root.Values.networkPolicy.gatewayFrom | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- range $caller, $other := $root.Values.services }}
    {{- if has $name $other.calls }}
    - from:
        - podSelector:
            matchLabels:
              {{- include "trackcc.selectorLabels" (dict "root" $root "component" $caller) | nindent 14 }}
      ports:
        - protocol: TCP
          port: {{ $svc.port }}
    {{- end }}
    {{- end }}
    - from:
        {{- toYaml $root.Values.networkPolicy.prometheus.from | nindent 8 }}
      ports:
        - protocol: TCP
          port: {{ $root.Values.metricsPort }}
  egress:
    {{- include "trackcc.dnsEgress" $root | nindent 4 }}
    {{- range $callee := $svc.calls }}
    - to:
        - podSelector:
            matchLabels:
              {{- include "trackcc.selectorLabels" (dict "root" $root "component" $callee) | nindent 14 }}
      ports:
        - protocol: TCP
          port: {{ (index $root.Values.services $callee).port }}
    {{- end }}
    {{- if $svc.database }}
    {{- include "trackcc.postgresEgress" $root | nindent 4 }}
    {{- end }}
    {{- if $svc.smtp }}
    - ports:
        - protocol: TCP
          port: {{ $root.Values.smtp.port }}
      {{- with $root.Values.networkPolicy.smtp.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
{{- end }}
{{- if $root.Values.metrics.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
    {{- with $root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "trackcc.selectorLabels" $ctx | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      scheme: http
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
{{- end }}
{{- if $root.Values.certManager.enabled }}
---
# The URI SAN spiffe://trackcc/<component> names the component: every service authorizes its
# callers by it (services/common/callers.py), never by the common name alone.
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "trackcc.labels" $ctx | nindent 4 }}
spec:
  secretName: {{ include "trackcc.tlsSecret" $ctx }}
  commonName: {{ $name }}
  uris:
    - {{ printf "spiffe://trackcc/%s" $name }}
  dnsNames:
    - {{ $fullname }}
    - {{ printf "%s.%s" $fullname $root.Release.Namespace }}
    - {{ printf "%s.%s.svc" $fullname $root.Release.Namespace }}
    - {{ printf "%s.%s.svc.cluster.local" $fullname $root.Release.Namespace }}
  duration: {{ $root.Values.certManager.duration }}
  renewBefore: {{ $root.Values.certManager.renewBefore }}
  privateKey:
    algorithm: ECDSA
    size: 256
    rotationPolicy: Always
  usages:
    - digital signature
    - key encipherment
    - server auth
    - client auth
  issuerRef:
    {{- toYaml $root.Values.certManager.issuerRef | nindent 4 }}
{{- end }}
{{- end }}
