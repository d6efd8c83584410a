"""Journal routes under /api/ (SPEC J1, J2, J4, J11, J12). `<int:...>` makes a non-integer id a 404."""

from django.urls import path

from journal.views import (
    BacktestFilterView,
    JournalExportView,
    JournalStatsView,
    PaperOrderViewSet,
    SentimentLabelViewSet,
    SentimentTaxonomyView,
)

orders = PaperOrderViewSet.as_view({"get": "list", "post": "create"})
order = PaperOrderViewSet.as_view({"get": "retrieve"})
order_close = PaperOrderViewSet.as_view({"post": "close"})
order_cancel = PaperOrderViewSet.as_view({"post": "cancel"})
labels = SentimentLabelViewSet.as_view({"get": "list", "post": "create", "delete": "destroy_all"})
label = SentimentLabelViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("paper-orders/", orders, name="paper-orders"),
    path("paper-orders/<int:pk>/", order, name="paper-order"),
    path("paper-orders/<int:pk>/close/", order_close, name="paper-order-close"),
    path("paper-orders/<int:pk>/cancel/", order_cancel, name="paper-order-cancel"),
    path("sentiment-labels/", labels, name="sentiment-labels"),
    path("sentiment-labels/backtest-filter/", BacktestFilterView.as_view(), name="sentiment-labels-backtest"),
    path("sentiment-labels/stats/", JournalStatsView.as_view(), name="sentiment-labels-stats"),
    path("sentiment-labels/export/", JournalExportView.as_view(), name="sentiment-labels-export"),
    path("sentiment-labels/<int:pk>/", label, name="sentiment-label"),
    path("sentiment-taxonomy/", SentimentTaxonomyView.as_view(), name="sentiment-taxonomy"),
]
