"""``LiteLLMInstrumentor``: what is wrapped, and the wiring ``instrument()`` builds.

Everything a call needs is built here once per ``instrument()`` and handed down explicitly:
the options, the util-genai handler, the hooks and the content policy go into one
:class:`~litellm_otel._recorder.CallRecorder`; the Router instrumentation is its attempt
observer; inside the LiteLLM Proxy, the Proxy's request hook joins the hooks.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import get_logger
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider, get_meter, get_meter_provider
from opentelemetry.semconv.schemas import Schemas
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel import _callbacks, _compat
from litellm_otel._config import Options
from litellm_otel._content import ContentPolicy
from litellm_otel._entry_points import EntryPointWrapping
from litellm_otel._failsafe import report_failure
from litellm_otel._hooks import Hooks, RequestHook
from litellm_otel._latest import LatestConventions
from litellm_otel._metrics import CallMetrics, LatestMeterProvider
from litellm_otel._operations import ENTRY_POINTS
from litellm_otel._recorder import CallRecorder, MetricIdentity
from litellm_otel._redaction import redacts_content
from litellm_otel._router import RouterInstrumentation
from litellm_otel.package import _instruments  # pyright: ignore[reportPrivateUsage] (the name all instrumentation packages use)
from litellm_otel.version import __version__

SCOPE = "litellm_otel"
#: The schema util-genai's handler declares; our own meter and logger declare the same, so all
#: our metrics share one instrumentation scope (semantic-conventions-genai has no schema URL).
SCHEMA_URL = Schemas.V1_37_0.value


class LiteLLMInstrumentor(BaseInstrumentor):
    """Instruments LiteLLM's public call functions with GenAI spans and metrics.

    Options (keyword arguments of ``instrument()``; environment variables in
    docs/configuration.md): ``tracer_provider``, ``meter_provider``, ``logger_provider``,
    ``capture_content``, ``request_stream_usage``, ``suppress_nested_llm_spans``,
    ``early_bound_callback``, ``max_content_length``, ``request_hook``, ``response_hook``,
    ``content_filter``, ``proxy_metric_identity``, ``proxy_metric_identity_limit``. The
    conventions' version comes from ``OTEL_SEMCONV_STABILITY_OPT_IN`` (docs/conventions.md).

    ``instrument()`` is all or nothing and never raises: should any step fail, every step done
    so far is undone, the failure is logged once and LiteLLM runs exactly as uninstrumented
    (a later ``instrument()`` may try again).
    """

    _callback: Any = None
    _proxy: Any = None
    _entry_points: EntryPointWrapping | None = None
    _router: RouterInstrumentation | None = None
    _recorder: CallRecorder | None = None
    _rolled_back: bool = False

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def instrument(self, **kwargs: Any) -> Any:
        result = super().instrument(**kwargs)
        if self._rolled_back:
            # Nothing is installed: say so, so that uninstrument() is a no-op and a later
            # instrument() is not refused as "already instrumented".
            self._is_instrumented_by_opentelemetry = False
            self._rolled_back = False
        return result

    def _instrument(self, **kwargs: Any) -> None:
        self._rolled_back = False
        try:
            self._install(**kwargs)
        except Exception:
            report_failure("instrumenting LiteLLM; nothing was instrumented")
            self._remove()
            self._rolled_back = True

    def _uninstrument(self, **kwargs: Any) -> None:
        self._remove()

    def _install(self, **kwargs: Any) -> None:
        """Every step records what it did as it goes, so that :meth:`_remove` can undo a
        partial install."""
        import litellm

        options = Options.from_kwargs(kwargs)
        tracer_provider = kwargs.get("tracer_provider")
        router = getattr(litellm, "Router", None)
        router_instrumentation = (
            RouterInstrumentation(
                trace.get_tracer(SCOPE, __version__, tracer_provider),
                redact_content=redacts_content(options),
            )
            if router is not None
            else None
        )
        integration_hooks: tuple[RequestHook, ...] = ()
        metric_identity: MetricIdentity | None = None
        proxy = _proxy_integration()
        if proxy is not None:
            integration_hooks = (proxy.request_hook,)
            metric_identity = _metric_identity(proxy, options)
        recorder = CallRecorder(
            _make_handler(options, kwargs),
            options,
            Hooks(options.request_hook, options.response_hook, integration_hooks),
            ContentPolicy(options.content_filter, options.max_content_length),
            observer=router_instrumentation,
            explicit_providers=any(
                kwargs.get(name) is not None
                for name in ("tracer_provider", "meter_provider", "logger_provider")
            ),
            metrics=_make_metrics(options, kwargs.get("meter_provider")),
            latest=(
                LatestConventions(
                    get_logger(SCOPE, __version__, kwargs.get("logger_provider"), SCHEMA_URL)
                )
                if options.latest_conventions
                else None
            ),
            metric_identity=metric_identity,
        )
        self._recorder = recorder
        self._entry_points = EntryPointWrapping(recorder, ENTRY_POINTS)
        self._entry_points.install()

        if router is not None and router_instrumentation is not None:
            self._router = router_instrumentation
            router_instrumentation.install(router, self._entry_points.wrapper_for)
        if options.early_bound_callback:
            self._callback = _callbacks.make_callback(recorder)
            _callbacks.register(litellm, self._callback)
        if proxy is not None:
            self._proxy = proxy
            proxy.register(litellm, tracer_provider)

    def _remove(self) -> None:
        """Undo whatever :meth:`_install` did (all of it, or the part done before it failed);
        each step is contained, so one that fails does not keep the others in place."""
        try:
            import litellm
        except Exception:
            report_failure("importing LiteLLM to uninstrument it")
            return
        if self._recorder is not None:
            self._recorder.active = False
            self._recorder = None
        if self._entry_points is not None:
            try:
                self._entry_points.remove()
            finally:
                self._entry_points = None
        router = getattr(litellm, "Router", None)
        if router is not None and self._router is not None:
            try:
                self._router.remove(router)
            except Exception:
                report_failure("restoring LiteLLM's Router")
            self._router = None
        if self._callback is not None:
            try:
                _callbacks.unregister(litellm, self._callback)
            except Exception:
                report_failure("removing the LiteLLM callback for early-bound calls")
            self._callback = None
        if self._proxy is not None:
            try:
                self._proxy.unregister(litellm)
            except Exception:
                report_failure("detaching the LiteLLM Proxy integration")
            self._proxy = None


def _proxy_integration() -> Any:
    """The Proxy integration module when this process is the LiteLLM Proxy, else ``None``.

    Imported only there: it imports LiteLLM's logger classes, and any entry in
    ``litellm.callbacks`` makes LiteLLM run its logging machinery on every call.
    """
    try:
        from litellm_otel.proxy import integration

        return integration if integration.running_in_proxy() else None
    except Exception:
        report_failure("loading the LiteLLM Proxy integration")
        return None


def _metric_identity(proxy: Any, options: Options) -> MetricIdentity | None:
    """The Proxy identity for metric points, bounded; ``None`` when none is wanted."""
    identity = proxy.metric_identity(
        options.proxy_metric_identity, options.proxy_metric_identity_limit
    )
    return identity.attributes if identity else None


def _make_metrics(options: Options, meter_provider: MeterProvider | None) -> CallMetrics | None:
    """Our instruments (cost; the usage counters in the latest mode), or ``None`` if the meter
    refuses them: the rest of the telemetry goes on."""
    try:
        meter = get_meter(SCOPE, __version__, meter_provider, SCHEMA_URL)
        return CallMetrics(meter, latest=options.latest_conventions)
    except Exception:
        report_failure("creating the cost and usage metrics")
        return None


def _make_handler(options: Options, kwargs: dict[str, Any]) -> TelemetryHandler:
    meter_provider: MeterProvider | None = kwargs.get("meter_provider")
    if options.latest_conventions:
        # util-genai records under the default names; this provider renames (_metrics).
        meter_provider = LatestMeterProvider(meter_provider or get_meter_provider())

    def build(meter_provider: Any) -> TelemetryHandler:
        with _compat.quiet_capture_mode_warning():
            return TelemetryHandler(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=meter_provider,
                logger_provider=kwargs.get("logger_provider"),
                instrumentation_scope_name=SCOPE,
                instrumentation_scope_version=__version__,
            )

    try:
        handler = build(meter_provider)
    except Exception:
        # A meter that fails while creating its histograms must not stop the traces.
        report_failure("creating the GenAI metrics; spans are still recorded")
        handler = build(NoOpMeterProvider())
    _compat.set_content_capturing_mode(handler, options.capture_mode)
    return handler
